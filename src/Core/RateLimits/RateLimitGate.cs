using System.Collections.Concurrent;

namespace Gateway.Core.RateLimits;

/// <summary>Rate-limit settings (section <c>Gateway:RateLimits</c>): per key, and per (key, model), per minute.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per minute for every key (none when unset).</summary>
    public long? KeyRequestsPerMinute { get; set; }
    /// <summary>Tokens per minute for every key (prompt estimate + output cap, corrected to the real count).</summary>
    public long? KeyTokensPerMinute { get; set; }
    /// <summary>Requests per minute for each key on each model.</summary>
    public long? KeyModelRequestsPerMinute { get; set; }
    /// <summary>Tokens per minute for each key on each model.</summary>
    public long? KeyModelTokensPerMinute { get; set; }
    /// <summary>Per-key overrides, by key id.</summary>
    public Dictionary<string, KeyRateLimitOptions> Keys { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Output tokens counted up front for a request without max_tokens (corrected after the call).</summary>
    public int DefaultOutputTokens { get; set; } = 1000;
    /// <summary>Far from the limit an instance takes this share of a limit at a time, so most requests need no round trip.</summary>
    public double AllotmentShare { get; set; } = 0.05;
    /// <summary>An allotment not used within this time is given up (it is counted as used).</summary>
    public double AllotmentSeconds { get; set; } = 1;
}

/// <summary>A key's own limits, replacing the defaults.</summary>
public sealed class KeyRateLimitOptions
{
    public long? RequestsPerMinute { get; set; }
    public long? TokensPerMinute { get; set; }
    public long? ModelRequestsPerMinute { get; set; }
    public long? ModelTokensPerMinute { get; set; }
}

public enum RateLimitOp
{
    Take,
    Status,
}

/// <summary>One operation on one rate-limit counter (a Durable Entity per counter in Azure).</summary>
public sealed record RateLimitCommand
{
    public required RateLimitOp Op { get; init; }
    public required RateLimitDefinition Definition { get; init; }
    public long Requests { get; init; }
    public long Tokens { get; init; }
    /// <summary>Token corrections (real − estimated) accumulated since the last call, applied first.</summary>
    public long Correction { get; init; }
}

public sealed record RateLimitCommandResult(bool Allowed, RateLimitStatus Status, TimeSpan? RetryAfter, bool TooLarge);

/// <summary>Applies a command to a counter's state: the whole behaviour of a rate-limit entity, pure.</summary>
public static class RateLimitCommands
{
    public static (RateLimitState State, RateLimitCommandResult Result) Apply(RateLimitState? state, RateLimitCommand command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var s = state is null ? RateLimiter.Create(command.Definition, now)
            : state.Definition == command.Definition ? state : RateLimiter.Reconfigure(state, command.Definition, now);
        if (command.Correction != 0) s = RateLimiter.Correct(s, command.Correction, now).State;
        if (command.Op == RateLimitOp.Status) return (s, new RateLimitCommandResult(true, RateLimiter.GetStatus(s, now), null, false));
        var admit = RateLimiter.Admit(s, command.Requests, command.Tokens, now);
        return admit.Result switch
        {
            RateLimitDecision.Allowed a => (admit.State, new RateLimitCommandResult(true, a.Status, null, false)),
            RateLimitDecision.Denied d => (admit.State, new RateLimitCommandResult(false, d.Status, d.RetryAfter, d.Reason == RateLimitDenial.TooLarge)),
            _ => throw new InvalidOperationException("Unknown rate-limit decision."),
        };
    }
}

/// <summary>Where rate-limit counters live: one state per counter id, one operation at a time per counter.</summary>
public interface IRateLimitBackend
{
    Task<RateLimitCommandResult> SendAsync(string counterId, RateLimitCommand command, CancellationToken cancellationToken);
}

/// <summary>Counters in this process (a single instance, tests), stored serialised as an entity's state is.</summary>
public sealed class InMemoryRateLimitBackend(TimeProvider time) : IRateLimitBackend
{
    private readonly ConcurrentDictionary<string, (Lock Gate, string? Json)> _counters = new();

    public Task<RateLimitCommandResult> SendAsync(string counterId, RateLimitCommand command, CancellationToken cancellationToken)
    {
        var slot = _counters.GetOrAdd(counterId, _ => (new Lock(), null));
        lock (slot.Gate)
        {
            var current = _counters[counterId].Json is { } json ? RateLimitStateCodec.Deserialize(json) : null;
            var (next, result) = RateLimitCommands.Apply(current, command, time.GetUtcNow());
            _counters[counterId] = (slot.Gate, RateLimitStateCodec.Serialize(next));
            return Task.FromResult(result);
        }
    }
}

/// <summary>One counter a request passes: its id and its limits.</summary>
public sealed record RateLimitCounter(string Id, RateLimitDefinition Definition);

/// <summary>The gate's answer: allowed or not, the tightest status (for the x-ratelimit headers), the wait when refused.</summary>
public sealed record RateLimitAdmission(bool Allowed, RateLimitStatus? Status, TimeSpan? RetryAfter, string? RefusedBy, bool TooLarge)
{
    public static RateLimitAdmission Unlimited { get; } = new(true, null, null, null, false);
}

/// <summary>
/// An instance's side of rate limits. Far from a limit it takes an allotment — a share of the limit
/// (<see cref="RateLimitOptions.AllotmentShare"/>) — from the counter and admits requests from it locally, so most
/// requests need no round trip; an allotment is given up after <see cref="RateLimitOptions.AllotmentSeconds"/>. Near the
/// limit (the counter has less than a quarter left) it takes one request at a time, decided by the counter in order.
/// Token estimates are corrected with the real counts, sent along with the next call to the counter.
/// </summary>
/// <remarks>
/// Precision: the counter never admits more than its bucket allows (at most limit + limit × t / window over any
/// interval t, see <see cref="RateLimiter"/>), and an instance admits only what the counter granted, so admitted
/// requests never exceed that bound. What an instance took but did not use is lost: the shortfall below the bound is
/// at most one allotment per instance per <see cref="RateLimitOptions.AllotmentSeconds"/>.
/// </remarks>
public sealed class RateLimitGate(IRateLimitBackend backend, TimeProvider time, RateLimitOptions options)
{
    private sealed class Allotment
    {
        public readonly Lock Gate = new();
        public long Requests;
        public long Tokens;
        public long ExpiresAt;
        public long PendingCorrection;
        public RateLimitStatus? Status;
        public long UsedRequests;
        public long UsedTokens;
    }

    private readonly ConcurrentDictionary<string, Allotment> _allotments = new(StringComparer.Ordinal);

    public IRateLimitBackend Backend => backend;

    /// <summary>The counters a request passes: the key's, and the key's on this model.</summary>
    public IReadOnlyList<RateLimitCounter> CountersFor(string keyId, string model)
    {
        options.Keys.TryGetValue(keyId, out var own);
        var counters = new List<RateLimitCounter>(2);
        var rpm = own?.RequestsPerMinute ?? options.KeyRequestsPerMinute;
        var tpm = own?.TokensPerMinute ?? options.KeyTokensPerMinute;
        if (rpm is not null || tpm is not null) counters.Add(new RateLimitCounter($"key:{keyId}", RateLimitDefinition.PerMinute(rpm, tpm)));
        var mrpm = own?.ModelRequestsPerMinute ?? options.KeyModelRequestsPerMinute;
        var mtpm = own?.ModelTokensPerMinute ?? options.KeyModelTokensPerMinute;
        if (mrpm is not null || mtpm is not null) counters.Add(new RateLimitCounter($"key:{keyId}|model:{model}", RateLimitDefinition.PerMinute(mrpm, mtpm)));
        return counters;
    }

    public async Task<RateLimitAdmission> AdmitAsync(IReadOnlyList<RateLimitCounter> counters, long estimatedTokens, CancellationToken cancellationToken)
    {
        if (counters.Count == 0) return RateLimitAdmission.Unlimited;
        RateLimitStatus? tightest = null;
        foreach (var counter in counters)
        {
            var (allowed, status, retryAfter, tooLarge) = await AdmitOneAsync(counter, estimatedTokens, cancellationToken).ConfigureAwait(false);
            tightest = tightest is null ? status : RateLimitStatus.Tightest(tightest, status);
            if (!allowed) return new RateLimitAdmission(false, tightest, retryAfter, counter.Id, tooLarge);
        }

        return new RateLimitAdmission(true, tightest, null, null, false);
    }

    private async Task<(bool Allowed, RateLimitStatus Status, TimeSpan? RetryAfter, bool TooLarge)> AdmitOneAsync(
        RateLimitCounter counter, long tokens, CancellationToken cancellationToken)
    {
        var a = _allotments.GetOrAdd(counter.Id, _ => new Allotment());
        long correction;
        long takeRequests, takeTokens;
        lock (a.Gate)
        {
            var now = time.GetTimestamp();
            if (now < a.ExpiresAt && a.Requests >= 1 && a.Tokens >= tokens && a.Status is not null)
            {
                a.Requests--;
                a.Tokens -= tokens;
                a.UsedRequests++;
                a.UsedTokens += tokens;
                return (true, Local(a.Status, a.UsedRequests, a.UsedTokens), null, false);
            }

            correction = a.PendingCorrection;
            a.PendingCorrection = 0;
            (takeRequests, takeTokens) = Batch(counter.Definition, a.Status, tokens);
        }

        var result = await backend.SendAsync(counter.Id, new RateLimitCommand
        {
            Op = RateLimitOp.Take, Definition = counter.Definition, Requests = takeRequests, Tokens = takeTokens, Correction = correction,
        }, cancellationToken).ConfigureAwait(false);
        if (!result.Allowed && takeRequests > 1)
        {
            // not enough for a batch: ask for exactly this request
            (takeRequests, takeTokens) = (1, tokens);
            result = await backend.SendAsync(counter.Id, new RateLimitCommand
            {
                Op = RateLimitOp.Take, Definition = counter.Definition, Requests = 1, Tokens = tokens,
            }, cancellationToken).ConfigureAwait(false);
        }

        lock (a.Gate)
        {
            a.Status = result.Status;
            a.UsedRequests = 0;
            a.UsedTokens = 0;
            if (!result.Allowed)
            {
                a.Requests = 0;
                a.Tokens = 0;
                return (false, result.Status, result.RetryAfter, result.TooLarge);
            }

            // this request takes one of the batch; the rest is this instance's allotment for a short while
            a.Requests = takeRequests - 1;
            a.Tokens = takeTokens - tokens;
            a.ExpiresAt = time.GetTimestamp() + (long)(options.AllotmentSeconds * time.TimestampFrequency);
            return (true, result.Status, null, false);
        }
    }

    /// <summary>Far from the limit, a share of it; near it (under a quarter left, or unknown), one request.</summary>
    private (long Requests, long Tokens) Batch(RateLimitDefinition definition, RateLimitStatus? last, long tokens)
    {
        long requests = 1;
        if (last is not null && definition.RequestsPerWindow is { } rpm && last.RemainingRequests is { } left && left > rpm / 4)
            requests = Math.Max(1, (long)(rpm * options.AllotmentShare));
        if (last is not null && definition.TokensPerWindow is { } tpm && last.RemainingTokens is { } leftTokens && leftTokens <= tpm / 4) requests = 1;
        if (definition.RequestsPerWindow is null && last is not null && definition.TokensPerWindow is { } tpmOnly && last.RemainingTokens > tpmOnly / 4)
            requests = Math.Max(1, (long)(tpmOnly * options.AllotmentShare) / Math.Max(1, tokens));
        var takeTokens = tokens * requests;
        if (definition.TokensPerWindow is { } limit && takeTokens > limit) (requests, takeTokens) = (1, tokens);
        return (requests, takeTokens);
    }

    private static RateLimitStatus Local(RateLimitStatus s, long usedRequests, long usedTokens) => s with
    {
        RemainingRequests = s.RemainingRequests is { } r ? Math.Max(0, r - usedRequests) : null,
        RemainingTokens = s.RemainingTokens is { } t ? Math.Max(0, t - usedTokens) : null,
    };

    /// <summary>Records the difference between real and estimated tokens; sent with the counter's next call.</summary>
    public void Correct(IReadOnlyList<RateLimitCounter> counters, long deltaTokens)
    {
        if (deltaTokens == 0) return;
        foreach (var counter in counters)
        {
            var a = _allotments.GetOrAdd(counter.Id, _ => new Allotment());
            lock (a.Gate) a.PendingCorrection += deltaTokens;
        }
    }
}
