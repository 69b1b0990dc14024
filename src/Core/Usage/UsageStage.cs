using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Usage;

/// <summary>
/// Meters every authenticated request: a pre-call cost estimate (header <c>x-gateway-cost-estimate-usd</c>), the
/// actual cost from the provider's usage (header <c>x-gateway-cost-usd</c>; for streams an <c>x_gateway</c> object on
/// the usage chunk and a closing SSE comment), and one usage record per request submitted after the response, whatever
/// the outcome. When a stream ends without usage, the tokens actually relayed are counted and the cost is marked estimated.
/// The record names the end user as <paramref name="pseudonyms"/> say: the plain id, or its keyed hash (the plain id then
/// never leaves the request).
/// </summary>
public sealed class UsageStage(IUsageSink sink, ICostMeter meter, GatewayOptions options, Privacy.UserPseudonyms? pseudonyms = null) : IGatewayStage
{
    public const string CostHeader = "x-gateway-cost-usd";
    public const string RecordIdHeader = "x-gateway-request-id";
    private const int MaxTags = 20;
    private const int MaxTagLength = 128;

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var meterState = new MeterState(context, "req_" + Guid.NewGuid().ToString("N"), pseudonyms);
        context.ResponseHeaders[RecordIdHeader] = context.UsageRecordId = meterState.RecordId;
        context.OnCompleted(() => SubmitAsync(meterState));
        GatewayResult result;
        try
        {
            context.Tags = Tags(context);
            result = await next(context).ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            meterState.Fail(ex.Error.Status, ex.Error.Code);
            meterState.SettleUnanswered(meter);
            throw;
        }
        catch (OperationCanceledException) when (context.Aborted.IsCancellationRequested)
        {
            meterState.Fail(499, "client_closed_request", UsageOutcomes.ClientClosed);
            meterState.SettleUnanswered(meter);
            throw;
        }
        catch (Exception ex)
        {
            // anything else is answered as a 500 (Errors.For): the record says so, never a success
            var error = Errors.Errors.For(ex);
            meterState.Fail(error.Status, error.Code);
            meterState.SettleUnanswered(meter);
            throw;
        }

        switch (result)
        {
            case GatewayResult.Completion completion:
                var usage = completion.Usage;
                var estimated = false;
                if (usage is null)
                {
                    usage = CountCompletion(context, completion.Body);
                    estimated = true;
                }

                meterState.Settle(usage.Value, (string?)completion.Body["model"], estimated, meter);
                if (completion.Body["choices"] is JsonArray answered) meterState.NoteFinish(answered);
                context.ResponseHeaders[CostHeader] = Money(meterState.Cost!.CostUsd);
                return completion;
            case GatewayResult.Streaming streaming:
                return new GatewayResult.Streaming(new MeteredStream(streaming.Stream, meterState, meter));
            default:
                return result;
        }
    }

    /// <summary>Six decimals for display (midpoint away from zero); records keep the exact value.</summary>
    public static string Money(decimal usd) => Math.Round(usd, 6, MidpointRounding.AwayFromZero).ToString("0.000000", CultureInfo.InvariantCulture);

    private TokenUsage CountCompletion(GatewayContext context, JsonObject body)
    {
        var text = new StringBuilder();
        if (body["choices"] is JsonArray choices)
        {
            foreach (var choice in choices)
            {
                text.Append(MessageContent.TextOf(choice?["message"]?["content"]));
                if (choice?["message"]?["tool_calls"] is JsonArray calls)
                {
                    foreach (var call in calls) text.Append((string?)call?["function"]?["name"]).Append((string?)call?["function"]?["arguments"]);
                }
            }
        }

        var deployment = context.Deployment;
        var completion = deployment is null ? 0 : meter.CountTokens(deployment, text.ToString());
        return new TokenUsage(context.CostEstimate?.PromptTokens ?? 0, completion);
    }

    private Dictionary<string, string> Tags(GatewayContext context)
    {
        var tags = new Dictionary<string, string>(context.Principal?.Tags ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var header = context.Headers.Get(options.TagsHeader);
        if (string.IsNullOrWhiteSpace(header)) return tags;
        foreach (var part in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1 || part.Length > MaxTagLength)
            {
                throw Errors.Errors.InvalidRequest($"The {options.TagsHeader} header must be key=value pairs separated by commas (each at most {MaxTagLength} characters).", options.TagsHeader);
            }

            // request tags add to the key's, never change them (a key's tags select its budgets and reports)
            var name = part[..eq].Trim();
            if (context.Principal?.Tags.ContainsKey(name) == true) continue;
            tags[name] = part[(eq + 1)..].Trim();
        }

        if (tags.Count > MaxTags) throw Errors.Errors.InvalidRequest($"At most {MaxTags} tags are allowed per request.", options.TagsHeader);
        return tags;
    }

    private async ValueTask SubmitAsync(MeterState state) =>
        await sink.SubmitAsync(state.ToRecord(), CancellationToken.None).ConfigureAwait(false);

    /// <summary>What the stage learns about one request as it runs.</summary>
    internal sealed class MeterState(GatewayContext context, string recordId, Privacy.UserPseudonyms? pseudonyms)
    {
        // read now: the record is built after the response, when the request's headers may be gone
        private readonly string? _clientRequestId = string.IsNullOrEmpty(context.Headers.Get(GatewayHeaders.RequestId)) ? null : context.RequestId;

        public string RecordId { get; } = recordId;
        public GatewayContext Context { get; } = context;
        public TokenUsage Usage { get; private set; }
        public CostResult? Cost { get; private set; }
        public decimal Saved { get; private set; }
        public bool Estimated { get; private set; }
        public string? ServedModel { get; private set; }
        public long? TimeToFirstTokenMs => Timing?.TimeToFirstTokenMs;
        /// <summary>A stream's pace (null for other answers).</summary>
        public StreamTiming? Timing { get; set; }
        public string Outcome { get; private set; } = UsageOutcomes.Success;
        public int Status { get; private set; } = 200;
        public string? ErrorCode { get; private set; }
        /// <summary>Why the first choice ended, as the answer said.</summary>
        public string? FinishReason { get; private set; }

        /// <summary>The longest finish reason kept (an upstream's own word; the known ones are a dozen characters).</summary>
        private const int MaxFinishReasonLength = 64;

        /// <summary>Notes the finish reason of the first choice (index 0) among <paramref name="choices"/>, once.</summary>
        public void NoteFinish(JsonArray choices)
        {
            if (FinishReason is not null) return;
            foreach (var choice in choices)
            {
                var index = choice?["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
                if (index == 0 && choice?["finish_reason"] is JsonValue f && f.TryGetValue<string>(out var reason) && reason.Length > 0)
                    FinishReason = reason.Length <= MaxFinishReasonLength ? reason : reason[..MaxFinishReasonLength];
            }
        }

        public void Fail(int status, string? code, string outcome = UsageOutcomes.Error)
        {
            Outcome = outcome;
            Status = status;
            ErrorCode = code;
        }

        private bool _failuresPriced;

        /// <summary>The estimated cost of failed calls that may have been billed (included in <see cref="Cost"/>).</summary>
        public decimal BilledFailuresCost { get; private set; }

        public void Settle(TokenUsage usage, string? servedModel, bool estimated, ICostMeter meter)
        {
            Usage = usage;
            Estimated = estimated;
            ServedModel = servedModel;
            Cost = Context.Deployment is { } d ? meter.Cost(d, usage, Context.ReceivedAt) : new CostResult(0m, false, null);
            if (Context.CacheStatus is "hit" or "coalesced")
            {
                // answered without an upstream call: free, and the record keeps what it saved
                Saved = Cost.CostUsd;
                Cost = Cost with { CostUsd = 0m };
            }

            if (PriceBilledFailures(meter) is { } failed)
            {
                Usage += failed.Usage;
                Cost = Cost with { CostUsd = Cost.CostUsd + failed.CostUsd, Priced = Cost.Priced || failed.Priced };
                Estimated = true;
            }

            Context.Cost = Cost;
            Context.Usage = Usage;
        }

        /// <summary>
        /// A request that got no answer is still billed for the calls the provider may have processed (a timeout, a
        /// dropped connection, the client leaving mid-call): their prompts are priced, marked estimated, and budgets
        /// settle that amount.
        /// </summary>
        public void SettleUnanswered(ICostMeter meter)
        {
            if (Context.WithheldUsage is { } withheld && Context.Deployment is not null)
            {
                // an answer that came back and was withheld is billed at its own usage, as a success would be
                Settle(withheld, null, estimated: false, meter);
                return;
            }

            if (PriceBilledFailures(meter) is not { } failed) return;
            Usage = failed.Usage;
            Cost = new CostResult(failed.CostUsd, failed.Priced, failed.PriceKey);
            Estimated = true;
            Context.Cost = Cost;
            Context.Usage = Usage;
        }

        /// <summary>What is known of each billed failure — its prompt, counted as the estimate counts it — at its deployment's price.</summary>
        private (TokenUsage Usage, decimal CostUsd, bool Priced, string? PriceKey)? PriceBilledFailures(ICostMeter meter)
        {
            var failures = Context.BilledFailures;
            if (failures.Count == 0 || Context.Request is not { } request || _failuresPriced) return null;
            _failuresPriced = true;
            TokenUsage usage = default;
            decimal cost = 0m;
            var priced = false;
            string? key = null;
            foreach (var deployment in failures)
            {
                var prompt = new TokenUsage(meter.Estimate(request, [deployment], Context.ReceivedAt).PromptTokens, 0);
                var result = meter.Cost(deployment, prompt, Context.ReceivedAt);
                usage += prompt;
                cost += result.CostUsd;
                priced |= result.Priced;
                key ??= result.PriceKey;
            }

            BilledFailuresCost = cost;
            return (usage, cost, priced, key);
        }

        /// <summary>
        /// The request's hashes and prefix size for the savings analysis (<see cref="Caching.CacheKey"/>). Hashing never
        /// costs a record: a request that cannot be hashed is recorded without them.
        /// </summary>
        private (string? RequestHash, string? PrefixHash, int? PrefixTokens) Shape()
        {
            if (Context.Request is not { } request) return default;
            var model = Context.Model?.Name ?? request.Model;
            try
            {
                var prefix = Caching.CacheKey.PrefixHash(request, model);
                return (Context.RequestHash ?? Caching.CacheKey.RequestHash(request, model), prefix, prefix is null ? null : Context.CostEstimate?.PrefixTokens);
            }
            catch (Exception)
            {
                return default;
            }
        }

        public UsageRecord ToRecord()
        {
            var principal = Context.Principal;
            var shape = Shape();
            return new UsageRecord
            {
                RequestId = RecordId,
                ClientRequestId = _clientRequestId,
                At = Context.ReceivedAt,
                KeyId = principal?.KeyId ?? "(unauthenticated)",
                KeyName = principal?.KeyName,
                User = pseudonyms is null ? Context.EndUser ?? principal?.User : pseudonyms.Stored(Context.EndUser ?? principal?.User, principal?.Team),
                Team = principal?.Team,
                Tags = Context.Tags,
                ModelRequested = Context.Model?.Name ?? Context.Request?.Model,
                ModelServed = ServedModel ?? Context.Deployment?.Model,
                Provider = Context.Deployment?.Provider.ToLowerInvariant(),
                Deployment = Context.Deployment?.Name,
                PromptTokens = Usage.PromptTokens,
                CompletionTokens = Usage.CompletionTokens,
                CachedTokens = Usage.CachedPromptTokens,
                CacheWriteTokens = Usage.CacheWriteTokens,
                CacheWrite1hTokens = Usage.CacheWrite1hTokens,
                ReasoningTokens = Usage.ReasoningTokens,
                CostUsd = Cost?.CostUsd ?? 0m,
                CostEstimated = Estimated,
                BilledFailuresCostUsd = BilledFailuresCost,
                BilledFailures = Context.BilledFailures.Count,
                Safety = Context.Safety,
                PriceKey = Cost?.PriceKey,
                LatencyMs = (long)Context.Elapsed.TotalMilliseconds,
                Attempts = Context.Attempts,
                AttemptLog = Context.AttemptLog,
                FallbackModel = Context.FallbackModel,
                CacheStatus = Context.CacheStatus,
                CacheKey = Context.CacheKey,
                SavedUsd = Saved,
                RequestHash = shape.RequestHash,
                PrefixHash = shape.PrefixHash,
                PrefixTokens = shape.PrefixTokens,
                MaxTokens = Context.Request?.MaxOutputTokens,
                ToolsOffered = Context.Request?.ToolsOffered,
                FinishReason = FinishReason,
                TimeToFirstTokenMs = TimeToFirstTokenMs,
                StreamDurationMs = Timing?.DurationMs,
                InterTokenP50Ms = Timing?.InterTokenP50Ms,
                InterTokenP95Ms = Timing?.InterTokenP95Ms,
                OutputTokensPerSecond = Timing?.OutputTokensPerSecond(Usage.CompletionTokens),
                StreamRecoveries = Context.StreamRecoveries,
                StreamRecovery = Context.StreamRecoveryLog,
                Stream = Context.Request?.Stream ?? false,
                Outcome = Outcome,
                Status = Status,
                ErrorCode = ErrorCode,
            };
        }
    }
}

/// <summary>Passes a stream through, watching it: time to first token, the text relayed, the usage, how it ended.</summary>
internal sealed class MeteredStream(IChatStream inner, UsageStage.MeterState state, ICostMeter meter) : IChatStream, IStreamTrailer
{
    private StreamTiming Timing => state.Timing ??= new StreamTiming(state.Context.StartedAt, state.Context.Time);

    /// <summary>
    /// The text relayed, for pricing when the provider reports no usage: the recovering stream's when there is one (kept
    /// once per stream), else this stream's own.
    /// </summary>
    private readonly StreamText _relayed = state.Context.StreamText ?? new StreamText();
    private readonly bool _ownText = state.Context.StreamText is null;
    private string? _model;
    private bool _settled;
    private bool _ended;

    public TokenUsage? Usage => inner.Usage;

    public string? Trailer { get; private set; }

    public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        JsonObject? chunk;
        try
        {
            chunk = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            state.Fail(ex.Error.Status, ex.Error.Code, UsageOutcomes.StreamBroken);
            Timing.End();
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            state.Fail(499, "client_closed_request", UsageOutcomes.ClientClosed);
            Timing.End();
            throw;
        }
        catch (Exception ex)
        {
            var error = Errors.Errors.For(ex);
            state.Fail(error.Status, error.Code, UsageOutcomes.StreamBroken);
            Timing.End();
            throw;
        }

        if (chunk is null)
        {
            _ended = true;
            Timing.End();
            Settle();
            Trailer = "x-gateway-cost-usd=" + UsageStage.Money(state.Cost!.CostUsd) + (state.Estimated ? " (estimated)" : "")
                + (state.Context.StreamRecoveryLog is { } recovered ? "; recovered " + recovered : "");
            return null;
        }

        _model ??= (string?)chunk["model"];
        if (chunk["choices"] is JsonArray choices)
        {
            state.NoteFinish(choices);
            foreach (var choice in choices)
            {
                if (choice?["delta"] is not { } delta) continue;
                if ((string?)delta["content"] is { Length: > 0 } || delta["tool_calls"] is JsonArray) Timing.Token();
            }

            if (_ownText) _relayed.Note(chunk);
        }

        if (chunk["usage"] is JsonObject && inner.Usage is not null)
        {
            Settle();
            chunk["x_gateway"] = new JsonObject { ["cost_usd"] = state.Cost!.CostUsd, ["estimated"] = state.Estimated };
        }

        return chunk;
    }

    private void Settle()
    {
        if (_settled) return;
        _settled = true;
        var usage = inner.Usage;
        var estimated = usage is null;
        if (usage is null)
        {
            var deployment = state.Context.Deployment;
            var completion = deployment is null ? 0 : meter.CountTokens(deployment, _relayed.ToString());
            usage = new TokenUsage(state.Context.CostEstimate?.PromptTokens ?? 0, completion);
        }

        state.Settle(usage.Value, _model, estimated, meter);
    }

    public async ValueTask DisposeAsync()
    {
        // A stream that ended early (broken, or the client left) is still priced from what was relayed.
        if (!_ended && state.Outcome == UsageOutcomes.Success)
        {
            if (state.Context.ClientTooSlow) state.Fail(499, Pipeline.ChatStreamWriter.ClientTooSlowCode, UsageOutcomes.ClientClosed);
            else if (state.Context.Aborted.IsCancellationRequested) state.Fail(499, "client_closed_request", UsageOutcomes.ClientClosed);
            else state.Fail(502, "stream_incomplete", UsageOutcomes.StreamBroken);
        }

        Settle();
        await inner.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The pre-call estimate: the most the request can cost on any deployment that may serve it — the model's and those
/// of the fallbacks of the request's catalog the key may use — so reservations, leases and up-front token counts stay
/// upper bounds whichever one answers. Header <c>x-gateway-cost-estimate-usd</c>; later stages (budgets) read
/// <see cref="GatewayContext.CostEstimate"/>.
/// </summary>
public sealed class CostEstimateStage(ICostMeter meter) : IGatewayStage
{
    public const string EstimateHeader = "x-gateway-cost-estimate-usd";

    public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        // a tier the price catalog has no prices for would be billed above what the gateway counts and budgets
        if (context.RequireRequest().Body["service_tier"] is JsonValue tierValue && tierValue.TryGetValue<string>(out var tier) && tier is not ("auto" or "default"))
            throw Errors.Errors.InvalidRequest(
                $"service_tier '{tier}' cannot be priced: the price catalog has no '{tier}' prices, so the gateway could neither count nor budget it. Send 'default' or 'auto', or leave it out.",
                "service_tier", "unsupported_value");
        context.CostEstimate = meter.Estimate(context.RequireRequest(), Servers(context), context.ReceivedAt);
        context.ResponseHeaders[EstimateHeader] = UsageStage.Money(context.CostEstimate.MaxCostUsd);
        return next(context);
    }

    private static IReadOnlyList<DeploymentOptions> Servers(GatewayContext context)
    {
        var model = context.RequireModel();
        if (model.Fallbacks.Count == 0) return model.Deployments;
        return [.. context.ServingModels().SelectMany(m => m.Deployments)];
    }
}
