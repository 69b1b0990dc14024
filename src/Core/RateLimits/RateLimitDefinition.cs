namespace Gateway.Core.RateLimits;

/// <summary>
/// Requests and tokens per window (a minute unless configured) for one (scope[, model]). A null limit is not enforced.
/// </summary>
public sealed record RateLimitDefinition
{
    /// <summary>The largest limit accepted (keeps the exact integer arithmetic far from overflow).</summary>
    public const long MaxLimit = 1_000_000_000_000;

    public long? RequestsPerWindow { get; init; }

    public long? TokensPerWindow { get; init; }

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    public static RateLimitDefinition PerMinute(long? requests, long? tokens) => new() { RequestsPerWindow = requests, TokensPerWindow = tokens };

    public void Validate()
    {
        if (RequestsPerWindow is < 1 or > MaxLimit) throw new ArgumentException("requests per window must be in [1, 10^12]");
        if (TokensPerWindow is < 1 or > MaxLimit) throw new ArgumentException("tokens per window must be in [1, 10^12]");
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(1)) throw new ArgumentException("the window must be between 1 s and 1 day");
    }
}
