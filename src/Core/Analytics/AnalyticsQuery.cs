using System.Globalization;

namespace Gateway.Core.Analytics;

/// <summary>
/// <c>GET /gateway/analytics</c>: <c>date</c> (a complete UTC day, <c>yyyy-MM-dd</c>; default yesterday), <c>scope</c>
/// (<c>team</c>, <c>team:search</c>, <c>all</c>, …; default everything) and <c>refresh</c> (true recomputes and stores the
/// snapshot even when one is stored). Anything else about them is a 400 naming the parameter.
/// </summary>
public sealed record AnalyticsQuery(DateOnly Date, AnalyticsScope? Scope, bool Refresh)
{
    /// <summary>How far back a date may be (the rollups' retention is 760 days by default).</summary>
    public const int MaxAgeDays = 800;

    public static AnalyticsQuery Parse(Func<string, string?> query, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(query);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var yesterday = today.AddDays(-1);
        var date = yesterday;
        if (query("date") is { Length: > 0 } text)
        {
            if (!DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
                throw Errors.Errors.InvalidRequest($"'date' is not a date: '{Trim(text)}' (use yyyy-MM-dd, e.g. {yesterday:yyyy-MM-dd}).", "date");
            if (date > yesterday)
                throw Errors.Errors.InvalidRequest($"'date' must be a complete UTC day: {yesterday:yyyy-MM-dd} or earlier (was {date:yyyy-MM-dd}).", "date");
            if (date < today.AddDays(-MaxAgeDays))
                throw Errors.Errors.InvalidRequest($"'date' may be at most {MaxAgeDays} days back ({today.AddDays(-MaxAgeDays):yyyy-MM-dd} or later).", "date");
        }

        AnalyticsScope? scope = null;
        if (query("scope") is { Length: > 0 } scopeText)
        {
            try
            {
                scope = AnalyticsScope.Parse(scopeText);
            }
            catch (FormatException ex)
            {
                throw Errors.Errors.InvalidRequest($"'scope' is not a scope: {ex.Message}", "scope");
            }
        }

        var refresh = query("refresh") switch
        {
            null or "" or "false" or "0" => false,
            "true" or "1" => true,
            var other => throw Errors.Errors.InvalidRequest($"'refresh' must be true or false (was '{Trim(other)}').", "refresh"),
        };
        return new AnalyticsQuery(date, scope, refresh);
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
