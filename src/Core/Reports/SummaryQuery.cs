using System.Globalization;
using System.Text;
using Gateway.Core.Analytics;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>How a summary is answered.</summary>
public enum SummaryFormat
{
    Json,
    Csv,
    Pdf,
}

/// <summary>
/// <c>GET /gateway/reports/summary</c>: <c>from</c> and <c>to</c> (complete UTC days: <c>from</c> included, <c>to</c> not;
/// <c>2026-11-01</c> or midnight UTC in ISO 8601), <c>scope</c> (<c>all</c> or one scope, <c>team:search</c>) and
/// <c>format</c> (json, csv or pdf). Without a range the summary covers the current month's complete days, or the whole
/// previous month on the first of a month; <c>from</c> alone runs to today; <c>to</c> alone starts on the first of the month
/// its last day is in. <c>to</c> equal to <c>from</c> is an empty range (an empty summary). Anything else about them is a 400
/// naming the parameter.
/// </summary>
public sealed record SummaryQuery(DateOnly From, DateOnly To, AnalyticsScope Scope, SummaryFormat Format)
{
    /// <summary>The longest range (a year, leap or not).</summary>
    public const int MaxRangeDays = 366;

    /// <summary>How far back a range may start (the rollups' retention is 760 days by default).</summary>
    public const int MaxAgeDays = 800;

    public int Days => To.DayNumber - From.DayNumber;

    public bool IsEmpty => Days == 0;

    public static SummaryQuery Parse(Func<string, string?> query, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(query);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var from = Day(query("from"), "from");
        var to = Day(query("to"), "to");
        switch (from, to)
        {
            case (null, null):
                var thisMonth = new DateOnly(today.Year, today.Month, 1);
                (from, to) = (today == thisMonth ? thisMonth.AddMonths(-1) : thisMonth, today);
                break;
            case (not null, null):
                to = today;
                break;
            case (null, { } end):
                var last = end.AddDays(-1);
                from = new DateOnly(last.Year, last.Month, 1);
                break;
        }

        if (from > today)
            throw Errors.Errors.InvalidRequest($"'from' must not be after {Iso(today)}: the summary covers complete UTC days (was {Iso(from!.Value)}).", "from");
        if (to > today)
            throw Errors.Errors.InvalidRequest($"'to' must not be after {Iso(today)}: the summary covers complete UTC days (was {Iso(to!.Value)}).", "to");
        if (to < from) throw Errors.Errors.InvalidRequest($"'to' must not be before 'from' ({Iso(from!.Value)}).", "to");
        if (from < today.AddDays(-MaxAgeDays))
            throw Errors.Errors.InvalidRequest($"'from' may be at most {MaxAgeDays} days back ({Iso(today.AddDays(-MaxAgeDays))} or later).", "from");
        if (to!.Value.DayNumber - from!.Value.DayNumber > MaxRangeDays)
            throw Errors.Errors.InvalidRequest($"The range may be at most {MaxRangeDays} days: ask for a year or less.", "to", "report_too_large");

        var scope = AnalyticsScope.All;
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

            if (scope.Value is null)
                throw Errors.Errors.InvalidRequest($"'scope' must name one scope, e.g. {scope.Dimension}:<value>, or be all (was '{Trim(scopeText)}').", "scope");
        }

        var format = query("format") switch
        {
            null or "" or "json" => SummaryFormat.Json,
            "csv" => SummaryFormat.Csv,
            "pdf" => SummaryFormat.Pdf,
            var other => throw Errors.Errors.InvalidRequest($"'format' must be json, csv or pdf (was '{Trim(other)}').", "format"),
        };
        return new SummaryQuery(from.Value, to.Value, scope, format);
    }

    /// <summary>The attachment's file name: <c>executive-summary[-scope]-from-to.ext</c>, in safe characters only.</summary>
    public string FileName(string extension)
    {
        var name = new StringBuilder("executive-summary");
        if (Scope != AnalyticsScope.All)
        {
            name.Append('-');
            foreach (var c in Scope.ToString().Take(60)) name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' ? c : '-');
        }

        return name.Append(CultureInfo.InvariantCulture, $"-{Iso(From)}-{Iso(To)}.{extension}").ToString();
    }

    /// <summary>A date, or an ISO 8601 instant that is a UTC midnight (the summary is made of whole days); null when absent.</summary>
    private static DateOnly? Day(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)) return day;
        var at = UsageReportQuery.Time(text, name);
        if (at.TimeOfDay != TimeSpan.Zero)
            throw Errors.Errors.InvalidRequest($"'{name}' must be a whole UTC day (yyyy-MM-dd, or midnight UTC): '{Trim(text)}' is not.", name);
        return DateOnly.FromDateTime(at.UtcDateTime);
    }

    internal static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
