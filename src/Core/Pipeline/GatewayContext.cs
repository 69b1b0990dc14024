using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Pipeline;

/// <summary>Reads request headers, whatever the host (Functions HttpRequest, tests, benchmarks).</summary>
public interface IRequestHeaders
{
    /// <summary>The header's first value, or null. Names are case-insensitive.</summary>
    string? Get(string name);
}

/// <summary>Everything one request accumulates as it passes through the stages.</summary>
public sealed class GatewayContext(string requestId, IRequestHeaders headers, Stream body, long? contentLength, TimeProvider time, CancellationToken aborted)
{
    public string RequestId { get; } = requestId;
    public IRequestHeaders Headers { get; } = headers;
    public Stream Body { get; } = body;
    public long? ContentLength { get; } = contentLength;
    public TimeProvider Time { get; } = time;
    /// <summary>
    /// Cancelled when the client goes away; every upstream call observes it. A stage may put a token linked to it here
    /// for the stages after it (the safety stage does, to stop a call its parallel check refuses) and must put the
    /// client's back before it returns.
    /// </summary>
    public CancellationToken Aborted { get; set; } = aborted;
    public long StartedAt { get; } = time.GetTimestamp();
    public DateTimeOffset ReceivedAt { get; } = time.GetUtcNow();

    /// <summary>The client's address (the first <c>X-Forwarded-For</c> hop behind a front door, else the connection's), when known.</summary>
    public string? ClientAddress { get; init; }

    public GatewayPrincipal? Principal { get; set; }
    public ChatRequest? Request { get; set; }
    /// <summary>The end user the request is attributed to: the body's <c>user</c>, the user header, or the key's user.</summary>
    public string? EndUser { get; set; }
    /// <summary>
    /// The model catalog this request was resolved against, read once: every later stage (stops, estimate, fallbacks,
    /// deployments) uses it, so a request started before the catalog was replaced finishes on the one it started with.
    /// </summary>
    public ModelCatalog? Catalog { get; set; }
    public CatalogModel? Model { get; set; }
    public DeploymentOptions? Deployment { get; set; }
    public TimeSpan? UpstreamLatency { get; set; }
    /// <summary>none, bypass, miss, hit or coalesced (the response cache); a hit or coalesced answer costs nothing.</summary>
    public string CacheStatus { get; set; } = "none";
    /// <summary>
    /// The cache entry this request's answer is stored under when it led a miss; null otherwise. Kept on the usage record
    /// so that erasing an end user's data finds the cached answers their requests created.
    /// </summary>
    public string? CacheKey { get; set; }
    /// <summary>The request's canonical hash (<see cref="Caching.CacheKey.RequestHash"/>) once the cache has computed it; the usage stage computes it otherwise.</summary>
    public string? RequestHash { get; set; }
    /// <summary>The id of this request's usage record (<c>x-gateway-request-id</c>), once the usage stage has given it one.</summary>
    public string? UsageRecordId { get; set; }
    /// <summary>Upstream calls made for this request (retries and fallbacks included).</summary>
    public int Attempts { get; set; }
    /// <summary>Each upstream call in order (<c>deployment status[ code]</c>, <c>; </c>-separated); null when none was made.</summary>
    public string? AttemptLog { get; set; }
    /// <summary>The fallback model that served the request (the requested model's deployments could not); else null.</summary>
    public string? FallbackModel { get; set; }

    private readonly string?[] _safety = new string?[3];

    /// <summary>
    /// The safety decisions, <c>; </c>-joined in a fixed order — the policy's on the input, its on the output, the
    /// provider's own filter (e.g. <c>input: redact email=2; provider: block provider.violence=1</c>); null when none.
    /// </summary>
    public string? Safety => _safety.All(p => p is null) ? null : string.Join("; ", _safety.OfType<string>());

    /// <summary>Sets one part of <see cref="Safety"/> (null clears it); each part is written by one place only.</summary>
    public void SetSafety(SafetyPart part, string? decision) => _safety[(int)part] = decision;

    private List<DeploymentOptions>? _billedFailures;

    /// <summary>
    /// The deployments of upstream calls that failed but may have been billed (<see cref="Providers.UpstreamErrors.MayHaveBeenBilled"/>,
    /// or a call in flight when the client left), in order; the usage stage prices their prompts into the request's cost.
    /// </summary>
    public IReadOnlyList<DeploymentOptions> BilledFailures => _billedFailures ?? (IReadOnlyList<DeploymentOptions>)[];

    public void NoteBilledFailure(DeploymentOptions deployment) => (_billedFailures ??= []).Add(deployment);

    /// <summary>The client stopped reading the stream for the write timeout and was dropped.</summary>
    public bool ClientTooSlow { get; set; }

    /// <summary>
    /// The streamed answer's text so far, kept once per stream: written by the recovering stream (which needs it for a
    /// continuation) and read by pricing (which needs it when the provider reports no usage). Null until a stream keeps
    /// it; a stage that rewrites the text between the two (a safety policy) puts null back, and pricing then keeps what
    /// the client was sent on its own.
    /// </summary>
    public StreamText? StreamText { get; set; }

    /// <summary>How many times the stream broke after its first byte and was continued (see <see cref="Resilience.RecoveringStream"/>).</summary>
    public int StreamRecoveries { get; private set; }

    /// <summary>Each recovery: after how many characters, from which deployment and why, to which, how long it took (<c>; </c>-separated).</summary>
    public string? StreamRecoveryLog { get; private set; }

    /// <summary>Notes a recovery (the continuation is one more upstream call).</summary>
    public void NoteStreamRecovery(string from, string to, int afterChars, TimeSpan took, string cause)
    {
        StreamRecoveries++;
        Attempts++;
        var entry = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"after {afterChars} chars: {from} {cause} -> {to} in {(long)took.TotalMilliseconds} ms");
        StreamRecoveryLog = StreamRecoveryLog is null ? entry : StreamRecoveryLog + "; " + entry;
        AttemptLog = (AttemptLog is null ? "" : AttemptLog + "; ") + to + " 200 continued";
    }

    /// <summary>
    /// The usage of an answer the provider returned (and billed) but the gateway withheld — a safety check that refused
    /// the request after the call had answered; the usage stage bills it although the request is answered with an error.
    /// </summary>
    public Protocol.TokenUsage? WithheldUsage { get; set; }

    /// <summary>Headers every response carries (success or error); stages add theirs here.</summary>
    public IDictionary<string, string> ResponseHeaders { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Tags for usage attribution: the key's tags overlaid with the request's tags header.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>();

    /// <summary>The pre-call cost estimate (an upper bound when max_tokens is set), once the usage stage has made it.</summary>
    public Usage.CostEstimateResult? CostEstimate { get; set; }

    /// <summary>The request's actual cost once known (set by the usage stage; 0 or unset for a request that cost nothing).</summary>
    public Usage.CostResult? Cost { get; set; }

    /// <summary>The request's tokens once known (reported by the provider, else counted by the gateway).</summary>
    public Protocol.TokenUsage? Usage { get; set; }

    public TimeSpan Elapsed => Time.GetElapsedTime(StartedAt);

    private long _admissionStarted;

    /// <summary>How long the admission stages may wait in all (<see cref="GatewayOptions.AdmissionTimeoutSeconds"/>).</summary>
    public TimeSpan AdmissionWindow { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Starts the admission window (once the body has been read: a slow upload does not use it up).</summary>
    public void StartAdmission() => _admissionStarted = Time.GetTimestamp();

    /// <summary>What is left of the admission window for a stage that must wait on a shared counter.</summary>
    public TimeSpan AdmissionTimeLeft
    {
        get
        {
            var left = AdmissionWindow - Time.GetElapsedTime(_admissionStarted == 0 ? StartedAt : _admissionStarted);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Tokens counted against limits before the call: the prompt estimate plus the output cap (max_tokens × n, else
    /// <paramref name="defaultOutputTokens"/>); corrected with the real count afterwards.
    /// </summary>
    public long UpFrontTokens(int defaultOutputTokens)
    {
        var request = RequireRequest();
        return (long)(CostEstimate?.PromptTokens ?? 0) + (request.MaxOutputTokens is { } max ? (long)max * Math.Max(1, request.N) : defaultOutputTokens);
    }

    private List<Func<ValueTask>>? _completed;

    /// <summary>Runs after the response has been written (or abandoned): usage records, settlements.</summary>
    public void OnCompleted(Func<ValueTask> callback) => (_completed ??= []).Add(callback);

    /// <summary>Runs the completion callbacks once, all of them even if one fails; failures are thrown together after.</summary>
    public async ValueTask CompleteAsync()
    {
        var callbacks = Interlocked.Exchange(ref _completed, null);
        if (callbacks is null) return;
        List<Exception>? failures = null;
        foreach (var callback in callbacks)
        {
            try
            {
                await callback().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is not null) throw new AggregateException("After-response work failed.", failures);
    }

    public GatewayPrincipal RequirePrincipal() => Principal ?? throw new InvalidOperationException("The authentication stage has not run.");
    public ChatRequest RequireRequest() => Request ?? throw new InvalidOperationException("The parsing stage has not run.");
    public CatalogModel RequireModel() => Model ?? throw new InvalidOperationException("The model resolution stage has not run.");

    /// <summary>The models that may serve this request: its model, then the fallbacks of its catalog the key may use.</summary>
    public IEnumerable<CatalogModel> ServingModels() =>
        Catalog is { } catalog ? catalog.ServingModels(RequireModel(), RequirePrincipal().AllowedModels) : [RequireModel()];
}

/// <summary>The parts of a request's safety decision, in the order they are shown.</summary>
public enum SafetyPart
{
    Input,
    Output,
    Provider,
}
