namespace Gateway.Core.RateLimits;

/// <summary>
/// The rate-limit state machine for one (scope[, model]): requests and tokens per window as two token buckets (GCRA
/// with a burst of one full window). Pure: state + operation + time → new state + result.
/// </summary>
/// <remarks>
/// <para>Each bucket holds at most <c>limit</c> units and refills continuously at <c>limit</c> per window. Levels are
/// integers in unit·ticks, so refill and consumption are exact: no rounding, no drift.</para>
/// <para><b>Error bound.</b> Over any interval of length t, the units admitted are at most
/// <c>limit + ⌊limit × t / window⌋</c> (a full bucket plus its refill), so over one window at most twice the limit and
/// over n consecutive windows at most (n + 1) × limit; the long-run rate is exactly the limit. A client that keeps the
/// limiter saturated gets at least <c>⌊limit × t / window⌋ − (one request)</c> in any interval t after its first
/// refusal. Tokens are counted as charged: the estimate at admission plus every <see cref="Correct"/>; real usage
/// exceeds the charged amount only by the pending corrections of requests still in flight. A correction may drive the
/// token bucket into debt (below zero), which later requests wait out.</para>
/// </remarks>
public static class RateLimiter
{
    /// <summary>A new limiter with full buckets.</summary>
    public static RateLimitState Create(RateLimitDefinition definition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        var w = definition.Window.Ticks;
        return new RateLimitState
        {
            Definition = definition,
            RequestLevel = (definition.RequestsPerWindow ?? 0) * (decimal)w,
            TokenLevel = (definition.TokensPerWindow ?? 0) * (decimal)w,
            UpdatedAt = now.ToUniversalTime(),
        };
    }

    /// <summary>Changes the limits, keeping what is left in each bucket (capped at the new limit; a dimension newly
    /// limited starts full).</summary>
    public static RateLimitState Reconfigure(RateLimitState state, RateLimitDefinition definition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        var s = Refill(state, now);
        var oldW = (decimal)s.Definition.Window.Ticks;
        var newW = (decimal)definition.Window.Ticks;
        return s with
        {
            Definition = definition,
            RequestLevel = Carry(s.Definition.RequestsPerWindow, s.RequestLevel, definition.RequestsPerWindow, oldW, newW),
            TokenLevel = Carry(s.Definition.TokensPerWindow, s.TokenLevel, definition.TokensPerWindow, oldW, newW),
        };
    }

    /// <summary>
    /// Admits <paramref name="requests"/> requests carrying <paramref name="estimatedTokens"/> tokens if both buckets
    /// hold enough; otherwise nothing is taken and the result says when they would.
    /// </summary>
    public static RateLimitOutcome<RateLimitDecision> Admit(RateLimitState state, long requests, long estimatedTokens, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        ArgumentOutOfRangeException.ThrowIfNegative(estimatedTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(estimatedTokens, RateLimitDefinition.MaxLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(requests, RateLimitDefinition.MaxLimit);
        var s = Refill(state, now);
        var d = s.Definition;
        var w = (decimal)d.Window.Ticks;
        if (requests > (d.RequestsPerWindow ?? long.MaxValue)) return new(s, new RateLimitDecision.Denied(Status(s), RateLimitDenial.TooLarge, null));
        if (estimatedTokens > (d.TokensPerWindow ?? long.MaxValue)) return new(s, new RateLimitDecision.Denied(Status(s), RateLimitDenial.TooLarge, null));

        var requestWait = Wait(d.RequestsPerWindow, s.RequestLevel, requests * w);
        var tokenWait = Wait(d.TokensPerWindow, s.TokenLevel, estimatedTokens * w);
        if (requestWait > 0 || tokenWait > 0)
        {
            var reason = requestWait >= tokenWait ? RateLimitDenial.Requests : RateLimitDenial.Tokens;
            return new(s, new RateLimitDecision.Denied(Status(s), reason, TimeSpan.FromTicks((long)Math.Max(requestWait, tokenWait))));
        }

        s = s with
        {
            RequestLevel = d.RequestsPerWindow is null ? s.RequestLevel : s.RequestLevel - (requests * w),
            TokenLevel = d.TokensPerWindow is null ? s.TokenLevel : s.TokenLevel - (estimatedTokens * w),
        };
        return new(s, new RateLimitDecision.Allowed(Status(s)));
    }

    /// <summary>Charges (positive) or refunds (negative) the difference between real and estimated tokens.</summary>
    public static RateLimitOutcome<RateLimitStatus> Correct(RateLimitState state, long deltaTokens, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Math.Abs(deltaTokens), RateLimitDefinition.MaxLimit, nameof(deltaTokens));
        var s = Refill(state, now);
        if (s.Definition.TokensPerWindow is { } limit)
        {
            var w = (decimal)s.Definition.Window.Ticks;
            s = s with { TokenLevel = Math.Min(limit * w, s.TokenLevel - (deltaTokens * w)) };
        }

        return new(s, Status(s));
    }

    /// <summary>The header figures at <paramref name="now"/> (the state is not changed).</summary>
    public static RateLimitStatus GetStatus(RateLimitState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Status(Refill(state, now));
    }

    private static RateLimitState Refill(RateLimitState s, DateTimeOffset now)
    {
        var elapsed = now.UtcTicks - s.UpdatedAt.UtcTicks;
        if (elapsed <= 0) return s;
        var w = (decimal)s.Definition.Window.Ticks;
        return s with
        {
            RequestLevel = Fill(s.Definition.RequestsPerWindow, s.RequestLevel, elapsed, w),
            TokenLevel = Fill(s.Definition.TokensPerWindow, s.TokenLevel, elapsed, w),
            UpdatedAt = now.ToUniversalTime(),
        };
    }

    private static decimal Fill(long? limit, decimal level, long elapsedTicks, decimal w) =>
        limit is { } l ? Math.Min(l * w, level + ((decimal)elapsedTicks * l)) : level;

    /// <summary>Ticks until the bucket holds <paramref name="need"/> (0 when it does now).</summary>
    private static decimal Wait(long? limit, decimal level, decimal need) =>
        limit is { } l && level < need ? CeilDiv(need - level, l) : 0m;

    private static RateLimitStatus Status(RateLimitState s)
    {
        var d = s.Definition;
        var w = (decimal)d.Window.Ticks;
        return new RateLimitStatus(
            d.RequestsPerWindow,
            d.TokensPerWindow,
            d.RequestsPerWindow is null ? null : Remaining(s.RequestLevel, w),
            d.TokensPerWindow is null ? null : Remaining(s.TokenLevel, w),
            d.RequestsPerWindow is { } r ? Reset(r, s.RequestLevel, w) : null,
            d.TokensPerWindow is { } t ? Reset(t, s.TokenLevel, w) : null);
    }

    private static long Remaining(decimal level, decimal w) => level <= 0 ? 0 : (long)decimal.Floor(level / w);

    private static TimeSpan Reset(long limit, decimal level, decimal w) => TimeSpan.FromTicks((long)CeilDiv(Math.Max(0m, (limit * w) - level), limit));

    private static decimal Carry(long? oldLimit, decimal level, long? newLimit, decimal oldW, decimal newW)
    {
        if (newLimit is not { } limit) return 0m;
        if (oldLimit is null) return limit * newW;
        return Math.Min(limit * newW, decimal.Floor(level * newW / oldW));
    }

    /// <summary>⌈a / b⌉ for a ≥ 0, b &gt; 0, exact even when the decimal quotient is rounded.</summary>
    internal static decimal CeilDiv(decimal a, decimal b)
    {
        var q = decimal.Truncate(a / b);
        while (q * b < a) q += 1;
        while (q > 0 && (q - 1) * b >= a) q -= 1;
        return q;
    }
}
