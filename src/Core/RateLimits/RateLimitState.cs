namespace Gateway.Core.RateLimits;

/// <summary>
/// The persisted state of one rate limiter (a durable entity's state): two token buckets. A level is kept in
/// token·ticks (tokens × window length in ticks), an integer, so refill (elapsed ticks × limit) is exact; a level below
/// zero is debt from corrections. Immutable; see <see cref="RateLimiter"/>.
/// </summary>
public sealed record RateLimitState
{
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required RateLimitDefinition Definition { get; init; }

    /// <summary>Request bucket level in request·ticks.</summary>
    public decimal RequestLevel { get; init; }

    /// <summary>Token bucket level in token·ticks.</summary>
    public decimal TokenLevel { get; init; }

    /// <summary>The instant the levels were last brought up to date.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>
/// The figures behind OpenAI's <c>x-ratelimit-*</c> headers (null for a dimension that is not limited). Reset is the
/// time until the bucket is full again, as OpenAI defines it.
/// </summary>
public sealed record RateLimitStatus(
    long? LimitRequests,
    long? LimitTokens,
    long? RemainingRequests,
    long? RemainingTokens,
    TimeSpan? ResetRequests,
    TimeSpan? ResetTokens)
{
    /// <summary>The tighter of two statuses (for a request that passes several limiters), dimension by dimension.</summary>
    public static RateLimitStatus Tightest(RateLimitStatus a, RateLimitStatus b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var requestsFromA = Pick(a.RemainingRequests, b.RemainingRequests);
        var tokensFromA = Pick(a.RemainingTokens, b.RemainingTokens);
        return new RateLimitStatus(
            requestsFromA ? a.LimitRequests : b.LimitRequests,
            tokensFromA ? a.LimitTokens : b.LimitTokens,
            requestsFromA ? a.RemainingRequests : b.RemainingRequests,
            tokensFromA ? a.RemainingTokens : b.RemainingTokens,
            requestsFromA ? a.ResetRequests : b.ResetRequests,
            tokensFromA ? a.ResetTokens : b.ResetTokens);
    }

    private static bool Pick(long? a, long? b) => b is null || (a is not null && a <= b);
}

public enum RateLimitDenial
{
    /// <summary>Not enough requests left in the window.</summary>
    Requests,
    /// <summary>Not enough tokens left in the window.</summary>
    Tokens,
    /// <summary>The request alone exceeds a limit: it can never be admitted (OpenAI answers 429 "Request too large").</summary>
    TooLarge,
}

/// <summary>The result of <see cref="RateLimiter.Admit"/>: allowed with the header figures, or denied with when to retry.</summary>
public abstract record RateLimitDecision(RateLimitStatus Status)
{
    public sealed record Allowed(RateLimitStatus Status) : RateLimitDecision(Status);

    /// <param name="RetryAfter">When the request would fit (null for <see cref="RateLimitDenial.TooLarge"/>).</param>
    public sealed record Denied(RateLimitStatus Status, RateLimitDenial Reason, TimeSpan? RetryAfter) : RateLimitDecision(Status);
}

public sealed record RateLimitOutcome<T>(RateLimitState State, T Result);
