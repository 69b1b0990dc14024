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
    /// <summary>What to take: a batch for this instance far from the limit, else one request.</summary>
    public long Requests { get; init; }
    public long Tokens { get; init; }
    /// <summary>When the batch does not fit, take this much instead (the request that asked); 0: nothing.</summary>
    public long FallbackRequests { get; init; }
    public long FallbackTokens { get; init; }
    /// <summary>Token corrections (real − estimated) accumulated since the last call, applied first.</summary>
    public long Correction { get; init; }
    /// <summary>A take that reaches the counter after this is refused without taking anything: its sender has stopped waiting.</summary>
    public DateTimeOffset? DecideBy { get; init; }
}

/// <param name="Plenty">Over a quarter of every limited dimension is left: batches are worth taking.</param>
public sealed record RateLimitCommandResult(bool Allowed, RateLimitStatus Status, TimeSpan? RetryAfter, bool TooLarge)
{
    public long GrantedRequests { get; init; }
    public long GrantedTokens { get; init; }
    public bool Plenty { get; init; }
}

/// <summary>Applies a command to a counter's state: the whole behaviour of a rate-limit entity, pure.</summary>
public static class RateLimitCommands
{
    public static (RateLimitState State, RateLimitCommandResult Result) Apply(RateLimitState? state, RateLimitCommand command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var s = state is null ? RateLimiter.Create(command.Definition, now)
            : state.Definition == command.Definition ? state : RateLimiter.Reconfigure(state, command.Definition, now);
        if (command.Correction != 0) s = RateLimiter.Correct(s, command.Correction, now).State;
        if (command.Op == RateLimitOp.Status) return (s, Result(s, true, null, false, 0, 0, now));
        if (command.DecideBy is { } decideBy && now > decideBy) return (s, Result(s, false, TimeSpan.FromSeconds(1), false, 0, 0, now));
        var admit = RateLimiter.Admit(s, command.Requests, command.Tokens, now);
        if (admit.Result is RateLimitDecision.Allowed) return (admit.State, Result(admit.State, true, null, false, command.Requests, command.Tokens, now));
        if (command.FallbackRequests > 0 && command.FallbackRequests < command.Requests)
        {
            // the batch does not fit: this one request may (its refusal, if not, says when it would)
            admit = RateLimiter.Admit(s, command.FallbackRequests, command.FallbackTokens, now);
            if (admit.Result is RateLimitDecision.Allowed) return (admit.State, Result(admit.State, true, null, false, command.FallbackRequests, command.FallbackTokens, now));
        }

        var denied = (RateLimitDecision.Denied)admit.Result;
        return (admit.State, Result(admit.State, false, denied.RetryAfter, denied.Reason == RateLimitDenial.TooLarge, 0, 0, now));
    }

    private static RateLimitCommandResult Result(RateLimitState s, bool allowed, TimeSpan? retryAfter, bool tooLarge, long requests, long tokens, DateTimeOffset now)
    {
        var status = RateLimiter.GetStatus(s, now);
        var plenty = (status.LimitRequests is not { } r || status.RemainingRequests > r / 4) && (status.LimitTokens is not { } t || status.RemainingTokens > t / 4);
        return new RateLimitCommandResult(allowed, status, retryAfter, tooLarge) { GrantedRequests = requests, GrantedTokens = tokens, Plenty = plenty };
    }
}

/// <summary>Rate-limit counters as entities (one per counter id): <see cref="RateLimitCommands"/> is the machine.</summary>
public sealed class RateLimitEntityKind : Entities.EntityKind<RateLimitState, RateLimitCommand, RateLimitCommandResult>
{
    public const string EntityName = "ratelimit";

    public static RateLimitEntityKind Instance { get; } = new();

    public override string Name => EntityName;

    public override Entities.EntityStep<RateLimitState, RateLimitCommandResult> Step(RateLimitState? state, RateLimitCommand command, DateTimeOffset now)
    {
        var (next, result) = RateLimitCommands.Apply(state, command, now);
        return new(next, result);
    }

    public override string SerializeState(RateLimitState state) => RateLimitStateCodec.Serialize(state);

    public override RateLimitState DeserializeState(string json) => RateLimitStateCodec.Deserialize(json);

    public override string? LegacyState(Entities.EntityEnvelope envelope) => envelope.Limiter;
}

/// <summary>One counter a request passes: its id and its limits.</summary>
public sealed record RateLimitCounter(string Id, RateLimitDefinition Definition);

/// <summary>The gate's answer: allowed or not, the tightest status (for the x-ratelimit headers), the wait when refused.</summary>
public sealed record RateLimitAdmission(bool Allowed, RateLimitStatus? Status, TimeSpan? RetryAfter, string? RefusedBy, bool TooLarge)
{
    /// <summary>Refused because no answer came within the admission window (not because the limit was reached).</summary>
    public bool Undecided { get; init; }

    public static RateLimitAdmission Unlimited { get; } = new(true, null, null, null, false);
}

/// <summary>
/// An instance's side of rate limits. Far from a limit it takes an allotment — a share of the limit
/// (<see cref="RateLimitOptions.AllotmentShare"/>) — from the counter and admits requests from it locally; the next
/// allotment is fetched in the background before this one runs out, so requests do not wait for it. Near the limit (the
/// counter has less than a quarter left) each request is decided by the counter in order, concurrently, within the
/// request's admission window; one not decided by then is refused with Retry-After. Counters are entities reached by
/// one-way signals whose answers are read back from their state: nothing here waits on an orchestration. Token
/// estimates are corrected with the real counts, sent along with the counter's next take.
/// </summary>
/// <remarks>
/// Precision: the counter never admits more than its bucket allows (at most limit + limit × t / window over any
/// interval t, see <see cref="RateLimiter"/>), and an instance admits only what the counter granted, within
/// <see cref="RateLimitOptions.AllotmentSeconds"/> of the grant (a leftover carried into the next allotment lives as long
/// as it): over any interval t, admitted ≤ limit + limit × (t + allotment lifetime) / window. What an instance took but
/// did not use is lost: the shortfall is at most one allotment per instance per allotment lifetime — and allotments are
/// sized to the instance's demand (<see cref="Entities.Allotment.DemandFactor"/> × its admitted rate over a lifetime),
/// so an instance's loss is at most about half a lifetime of its own traffic, however large the limit.
/// </remarks>
public sealed class RateLimitGate(Entities.IEntityChannel channel, TimeProvider time, RateLimitOptions options, string? instanceId = null)
{
    private sealed class Counter(TimeProvider time, TimeSpan lifetime)
    {
        public readonly Entities.Allotment Allotment = new(time, lifetime);
        public readonly Lock Gate = new();
        public long PendingCorrection;
        public RateLimitStatus? Status;
        /// <summary>When the counter, at its last refusal, said it would have room again (a timestamp; 0 when none).</summary>
        public long RefusedUntil;
        /// <summary>How long that refusal is trusted without asking the counter again (a timestamp).</summary>
        public long RefusalKnownUntil;
        public RateLimitStatus? RefusedStatus;
    }

    /// <summary>
    /// How long a counter's refusal is trusted without asking it again. Tokens that other requests counted up front
    /// and did not use flow back with corrections, so a refusal is taken at its word only briefly.
    /// </summary>
    public static readonly TimeSpan RefusalKnownFor = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private readonly Entities.EntityClient<RateLimitState, RateLimitCommand, RateLimitCommandResult> _entities =
        new(channel, RateLimitEntityKind.Instance, time, instanceId ?? Environment.MachineName);

    public Entities.EntityClient<RateLimitState, RateLimitCommand, RateLimitCommandResult> Entities => _entities;

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

    /// <summary>Admits one request of <paramref name="estimatedTokens"/> on every counter, waiting at most <paramref name="maxWait"/> in all.</summary>
    public async Task<RateLimitAdmission> AdmitAsync(IReadOnlyList<RateLimitCounter> counters, long estimatedTokens, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);
        if (counters.Count == 0) return RateLimitAdmission.Unlimited;
        var deadline = time.GetTimestamp() + (long)(Math.Max(0, maxWait.TotalSeconds) * time.TimestampFrequency);
        RateLimitStatus? tightest = null;
        foreach (var counter in counters)
        {
            var (allowed, status, retryAfter, tooLarge) = await AdmitOneAsync(counter, estimatedTokens, deadline, cancellationToken).ConfigureAwait(false);
            if (status is not null) tightest = tightest is null ? status : RateLimitStatus.Tightest(tightest, status);
            if (!allowed) return new RateLimitAdmission(false, tightest, retryAfter, counter.Id, tooLarge) { Undecided = status is null };
        }

        return new RateLimitAdmission(true, tightest, null, null, false);
    }

    private async Task<(bool Allowed, RateLimitStatus? Status, TimeSpan? RetryAfter, bool TooLarge)> AdmitOneAsync(
        RateLimitCounter counter, long tokens, long deadline, CancellationToken cancellationToken)
    {
        var c = _counters.GetOrAdd(counter.Id, _ => new Counter(time, TimeSpan.FromSeconds(options.AllotmentSeconds)));
        RateLimitCommandResult? last = null;
        var grant = await c.Allotment.AdmitAsync(tokens, deadline,
            async demand =>
            {
                var (requests, batchTokens) = Batch(counter.Definition, tokens, demand);
                var reply = await TakeAsync(counter, c, requests, batchTokens, tokens, TimeSpan.FromSeconds(Math.Max(5, options.AllotmentSeconds * 5))).ConfigureAwait(false)
                    ?? throw new TimeoutException($"The rate-limit counter '{counter.Id}' did not answer.");
                Remember(c, reply);
                last = reply;
                return new Entities.CounterGrant(reply.Allowed, reply.GrantedRequests, reply.GrantedTokens, reply.RetryAfter, reply.Plenty);
            },
            async wait =>
            {
                var reply = await TakeAsync(counter, c, 1, tokens, 0, wait).ConfigureAwait(false);
                if (reply is null) return null;
                Remember(c, reply);
                last = reply;
                c.Allotment.Observe(reply.Plenty);
                return new Entities.CounterGrant(reply.Allowed, reply.GrantedRequests, reply.GrantedTokens, reply.RetryAfter, reply.Plenty);
            }, cancellationToken).ConfigureAwait(false);

        if (grant is null) return (false, null, TimeSpan.FromSeconds(1), false);
        if (!grant.Value.Allowed)
        {
            var refusedStatus = last?.Status ?? c.Status;
            var tooLarge = last?.TooLarge ?? false;
            if (!tooLarge && grant.Value.RetryAfter is { } retry && refusedStatus is not null && Exhausted(refusedStatus)) RememberRefusal(c, refusedStatus, retry);
            return (false, refusedStatus, grant.Value.RetryAfter, tooLarge);
        }
        // what this instance holds is read before the counter's last answer: a background fetch records the counter's
        // answer before it adds its grant to the allotment, so this order can under-report by that grant for a moment
        // but never count it twice (the other order showed one request more than was left)
        var (leftRequests, leftTokens) = c.Allotment.Left;
        RateLimitStatus? known;
        lock (c.Gate) known = c.Status;
        return (true, known is null ? null : Local(known, leftRequests, leftTokens), null, false);
    }

    /// <summary>
    /// A refusal known without asking the counters or counting the request's tokens: a counter of this request refused
    /// within the last <see cref="RefusalKnownFor"/> with nothing left (no requests, or no tokens — every request counts
    /// some), and it will not have room within <paramref name="maxWait"/>. Null when the request must be asked about.
    /// The rate limit refuses a flood this way before the prompt is tokenized.
    /// </summary>
    public RateLimitAdmission? KnownRefusal(IReadOnlyList<RateLimitCounter> counters, TimeSpan maxWait)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var now = time.GetTimestamp();
        foreach (var counter in counters)
        {
            if (!_counters.TryGetValue(counter.Id, out var c)) continue;
            long until, knownUntil;
            RateLimitStatus? status;
            lock (c.Gate) (until, knownUntil, status) = (c.RefusedUntil, c.RefusalKnownUntil, c.RefusedStatus);
            if (status is null || now >= knownUntil || until <= now) continue;
            var wait = TimeSpan.FromSeconds((until - now) / (double)time.TimestampFrequency);
            if (wait <= maxWait) continue;
            return new RateLimitAdmission(false, status, wait, counter.Id, false);
        }

        return null;
    }

    private static bool Exhausted(RateLimitStatus s) => s.RemainingRequests is <= 0 || s.RemainingTokens is <= 0;

    private void RememberRefusal(Counter c, RateLimitStatus status, TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        var until = now + (long)(retryAfter.TotalSeconds * time.TimestampFrequency);
        var known = now + (long)(Math.Min(retryAfter.TotalSeconds, RefusalKnownFor.TotalSeconds) * time.TimestampFrequency);
        lock (c.Gate) (c.RefusedUntil, c.RefusalKnownUntil, c.RefusedStatus) = (until, known, status);
    }

    private async Task<RateLimitCommandResult?> TakeAsync(RateLimitCounter counter, Counter c, long requests, long tokens, long fallbackTokens, TimeSpan wait)
    {
        var command = TakeCommand(counter, c, requests, tokens, fallbackTokens, wait, out var correction);
        try
        {
            // a batch is one ask per counter; single requests near the limit are grouped with their concurrent neighbours
            var reply = requests > 1
                ? await _entities.AskAsync(counter.Id, command, wait, CancellationToken.None).ConfigureAwait(false)
                : await _entities.AskGroupedAsync(counter.Id, command, wait).ConfigureAwait(false);
            if (reply is null) RestoreCorrection(c, correction);
            return reply;
        }
        catch
        {
            RestoreCorrection(c, correction);
            throw;
        }
    }

    private RateLimitCommand TakeCommand(RateLimitCounter counter, Counter c, long requests, long tokens, long fallbackTokens, TimeSpan wait, out long correction)
    {
        lock (c.Gate)
        {
            correction = c.PendingCorrection;
            c.PendingCorrection = 0;
        }

        return new RateLimitCommand
        {
            Op = RateLimitOp.Take,
            Definition = counter.Definition,
            Requests = requests,
            Tokens = tokens,
            FallbackRequests = requests > 1 ? 1 : 0,
            FallbackTokens = requests > 1 ? fallbackTokens : 0,
            Correction = correction,
            DecideBy = time.GetUtcNow() + wait,
        };
    }

    private static void RestoreCorrection(Counter c, long correction)
    {
        // the take may not have reached the counter: the correction goes with the next one (a correction counted twice
        // would only make the counter stricter for a moment)
        lock (c.Gate) c.PendingCorrection += correction;
    }

    /// <summary>The counter's latest answer: the base of this instance's header figures.</summary>
    private static void Remember(Counter c, RateLimitCommandResult reply)
    {
        lock (c.Gate) c.Status = reply.Status;
    }

    /// <summary>
    /// Far from the limit, a share of it — no more than this instance's demand calls for (<paramref name="demand"/>, when
    /// known); the counter grants the single request instead when the batch does not fit.
    /// </summary>
    private (long Requests, long Tokens) Batch(RateLimitDefinition definition, long tokens, long? demand)
    {
        long requests = 1;
        if (definition.RequestsPerWindow is { } rpm) requests = Math.Max(1, (long)(rpm * options.AllotmentShare));
        if (definition.TokensPerWindow is { } tpm) requests = Math.Min(definition.RequestsPerWindow is null ? long.MaxValue : requests,
            Math.Max(1, (long)(tpm * options.AllotmentShare) / Math.Max(1, tokens)));
        if (demand is { } wanted) requests = Math.Max(1, Math.Min(requests, wanted));
        var takeTokens = tokens * requests;
        if (definition.TokensPerWindow is { } limit && takeTokens > limit) (requests, takeTokens) = (1, tokens);
        return (requests, takeTokens);
    }

    /// <summary>What the counter had left at its last answer plus what this instance still holds of its allotment.</summary>
    private static RateLimitStatus Local(RateLimitStatus s, long heldRequests, long heldTokens) => s with
    {
        RemainingRequests = s.RemainingRequests is { } r ? r + heldRequests : null,
        RemainingTokens = s.RemainingTokens is { } t ? t + heldTokens : null,
    };

    /// <summary>Records the difference between real and estimated tokens; sent with the counter's next take.</summary>
    public void Correct(IReadOnlyList<RateLimitCounter> counters, long deltaTokens)
    {
        ArgumentNullException.ThrowIfNull(counters);
        if (deltaTokens == 0) return;
        foreach (var counter in counters)
        {
            var c = _counters.GetOrAdd(counter.Id, _ => new Counter(time, TimeSpan.FromSeconds(options.AllotmentSeconds)));
            lock (c.Gate) c.PendingCorrection += deltaTokens;
        }
    }
}
