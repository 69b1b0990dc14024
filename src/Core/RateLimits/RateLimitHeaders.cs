using System.Globalization;
using System.Text;

namespace Gateway.Core.RateLimits;

/// <summary>OpenAI's rate-limit response headers and <c>Retry-After</c>.</summary>
public static class RateLimitHeaders
{
    public const string LimitRequests = "x-ratelimit-limit-requests";
    public const string LimitTokens = "x-ratelimit-limit-tokens";
    public const string RemainingRequests = "x-ratelimit-remaining-requests";
    public const string RemainingTokens = "x-ratelimit-remaining-tokens";
    public const string ResetRequests = "x-ratelimit-reset-requests";
    public const string ResetTokens = "x-ratelimit-reset-tokens";
    public const string RetryAfter = "Retry-After";

    /// <summary>The <c>x-ratelimit-*</c> headers for the limited dimensions of <paramref name="status"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Format(RateLimitStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var headers = new List<KeyValuePair<string, string>>(6);
        if (status.LimitRequests is { } lr) headers.Add(new(LimitRequests, lr.ToString(CultureInfo.InvariantCulture)));
        if (status.LimitTokens is { } lt) headers.Add(new(LimitTokens, lt.ToString(CultureInfo.InvariantCulture)));
        if (status.RemainingRequests is { } rr) headers.Add(new(RemainingRequests, rr.ToString(CultureInfo.InvariantCulture)));
        if (status.RemainingTokens is { } rt) headers.Add(new(RemainingTokens, rt.ToString(CultureInfo.InvariantCulture)));
        if (status.ResetRequests is { } xr) headers.Add(new(ResetRequests, FormatDuration(xr)));
        if (status.ResetTokens is { } xt) headers.Add(new(ResetTokens, FormatDuration(xt)));
        return headers;
    }

    /// <summary>The headers of a decision: the <c>x-ratelimit-*</c> set, plus <c>Retry-After</c> when denied with a retry time.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Format(RateLimitDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var headers = new List<KeyValuePair<string, string>>(Format(decision.Status));
        if (decision is RateLimitDecision.Denied { RetryAfter: { } wait }) headers.Add(new(RetryAfter, RetryAfterSeconds(wait)));
        return headers;
    }

    /// <summary>
    /// A duration as OpenAI writes it (Go's duration format), rounded up to the millisecond: <c>20ms</c>, <c>1s</c>,
    /// <c>1.5s</c>, <c>6m0s</c>, <c>1h0m0s</c>, <c>0s</c>.
    /// </summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero) return "0s";
        var ms = (duration.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        if (ms < 1000) return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        var hours = ms / 3_600_000;
        var minutes = ms / 60_000 % 60;
        var seconds = ms / 1000 % 60;
        var fraction = ms % 1000;
        var text = new StringBuilder();
        if (hours > 0) text.Append(hours).Append('h');
        if (hours > 0 || minutes > 0) text.Append(minutes).Append('m');
        text.Append(seconds);
        if (fraction > 0) text.Append('.').Append(fraction.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0'));
        return text.Append('s').ToString();
    }

    /// <summary><c>Retry-After</c>: whole seconds, rounded up (0 for no wait).</summary>
    public static string RetryAfterSeconds(TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero) return "0";
        return ((wait.Ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
    }
}
