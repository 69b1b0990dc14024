using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;

namespace Gateway.Core.Usage;

/// <summary>Series breakdown of a report.</summary>
public enum ReportInterval
{
    Total,
    Day,
    Hour,
}

/// <summary>
/// A report request: <c>from</c> and <c>to</c> (ISO 8601, UTC if no offset; rounded outward to 5-minute boundaries),
/// <c>group_by</c> (a dimension, default <c>all</c>), optional <c>value</c> (one value of that dimension),
/// <c>interval</c> (total, day or hour) and <c>currency</c> (USD or a configured currency).
/// </summary>
public sealed record UsageReportQuery(DateTimeOffset From, DateTimeOffset To, string GroupBy, string? Value, ReportInterval Interval, string Currency)
{
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(800);

    public static UsageReportQuery Parse(Func<string, string?> query, Func<string, bool> currencyKnown)
    {
        var from = Time(query("from"), "from");
        var to = Time(query("to"), "to");
        if (to <= from) throw Errors.Errors.InvalidRequest("'to' must be after 'from'.", "to");
        if (to - from > MaxRange) throw Errors.Errors.InvalidRequest($"The range may be at most {MaxRange.TotalDays} days.", "to");
        var groupBy = query("group_by") ?? UsageDimensions.All;
        if (!UsageDimensions.Names.Contains(groupBy))
        {
            throw Errors.Errors.InvalidRequest($"'group_by' must be one of {string.Join(", ", UsageDimensions.Names)}.", "group_by");
        }

        var interval = (query("interval") ?? "total") switch
        {
            "total" => ReportInterval.Total,
            "day" => ReportInterval.Day,
            "hour" => ReportInterval.Hour,
            _ => throw Errors.Errors.InvalidRequest("'interval' must be total, day or hour.", "interval"),
        };
        var value = query("value");
        BoundRows(from, to, groupBy, string.IsNullOrEmpty(value) ? null : value, interval);
        var currency = (query("currency") ?? "USD").ToUpperInvariant();
        if (!currencyKnown(currency)) throw Errors.Errors.InvalidRequest($"Unknown currency '{currency}'. Configure its rate under Gateway:Pricing:Currencies.", "currency");
        return new UsageReportQuery(
            UsageBuckets.Floor(from, Granularity.FiveMinutes),
            Ceil(to),
            groupBy,
            string.IsNullOrEmpty(value) ? null : value,
            interval,
            currency);
    }

    /// <summary>The longest range an hourly series may cover: 31 days (744 points), 7 days when every group gets one.</summary>
    public static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(31);
    public static readonly TimeSpan MaxHourlyGroupedRange = TimeSpan.FromDays(7);

    /// <summary>
    /// Refuses, with what to ask instead, a report whose series would be too long to answer at once: hourly points over
    /// more than 31 days, or over more than 7 days for every value of a dimension (users, keys, tags can number
    /// thousands). Daily series are bounded by <see cref="MaxRange"/>; the raw records of any range are in the export.
    /// </summary>
    private static void BoundRows(DateTimeOffset from, DateTimeOffset to, string groupBy, string? value, ReportInterval interval)
    {
        if (interval != ReportInterval.Hour) return;
        var grouped = groupBy != UsageDimensions.All && value is null;
        var max = grouped ? MaxHourlyGroupedRange : MaxHourlyRange;
        if (to - from <= max) return;
        var days = Math.Ceiling((to - from).TotalDays).ToString(CultureInfo.InvariantCulture);
        throw Errors.Errors.InvalidRequest(grouped
            ? $"interval=hour over {days} days for every {groupBy} would return too many rows: ask for at most {max.TotalDays} days, use interval=day, or pick one {groupBy} with value=…; the raw records of any range are in /gateway/usage/export."
            : $"interval=hour over {days} days would return too many rows: ask for at most {max.TotalDays} days or use interval=day.", "interval", "report_too_large");
    }

    private static DateTimeOffset Ceil(DateTimeOffset to)
    {
        var floor = UsageBuckets.Floor(to, Granularity.FiveMinutes);
        return floor == to ? to : floor + UsageBuckets.FiveMinutes;
    }

    /// <summary>ISO 8601 dates and times only (a date; a time to the minute, second or fraction; with Z, an offset, or none for UTC).</summary>
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    internal static DateTimeOffset Time(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text)) throw Errors.Errors.InvalidRequest($"'{name}' is required (ISO 8601, e.g. 2026-11-01T00:00:00Z).", name);
        if (!DateTimeOffset.TryParseExact(text.Trim(), IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            throw Errors.Errors.InvalidRequest($"'{name}' is not an ISO 8601 time: '{Trim(text)}'.", name);
        }

        return at;
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "…" : s;
}

/// <summary>One group of a report, with its totals and (if asked) its series.</summary>
public sealed record UsageReportGroup(string Value, UsageAggregate Totals, IReadOnlyList<(DateTimeOffset Start, UsageAggregate Totals)> Series);

public sealed record UsageReport(UsageReportQuery Query, UsageAggregate Totals, IReadOnlyList<UsageReportGroup> Groups);

/// <summary>Answers report queries from rollups only (never from raw records), so a year costs a few hundred rows.</summary>
public sealed class UsageReportService(IRollupStore rollups, TimeProvider time, UsageRetentionOptions retention)
{
    public async Task<UsageReport> QueryAsync(UsageReportQuery query, CancellationToken cancellationToken)
    {
        var coarsest = query.Interval switch { ReportInterval.Hour => Granularity.Hour, ReportInterval.Day => Granularity.Day, _ => Granularity.Month };
        // Long runs of fine rows are read as month-sized slices in parallel.
        var segments = ReportPlan.Cover(query.From, query.To, coarsest).SelectMany(SliceByMonth).ToList();
        var fineCutoff = retention.RollupCutoff(time.GetUtcNow(), Granularity.FiveMinutes);
        if (segments.Any(s => s.Granularity == Granularity.FiveMinutes && s.From < fineCutoff))
        {
            throw Errors.Errors.InvalidRequest(
                $"5-minute rollups are kept for {retention.FiveMinuteRollupRetentionDays} days: for older data 'from' and 'to' must be on whole hours.", "from");
        }

        var groups = new Dictionary<string, (UsageAggregate Totals, SortedDictionary<DateTimeOffset, UsageAggregate> Series)>(StringComparer.Ordinal);
        var reads = segments.Select(async segment =>
        {
            var rows = new List<RollupRow>();
            await foreach (var row in rollups.ReadAsync(segment.Granularity, query.GroupBy, segment.From, segment.To, query.Value, cancellationToken).ConfigureAwait(false))
            {
                rows.Add(row);
            }

            return rows;
        }).ToList();
        foreach (var rows in await Task.WhenAll(reads).ConfigureAwait(false))
        {
            foreach (var row in rows)
            {
                if (!groups.TryGetValue(row.Value, out var group)) groups[row.Value] = group = (new UsageAggregate(), new SortedDictionary<DateTimeOffset, UsageAggregate>());
                group.Totals.Add(row.Totals);
                if (query.Interval == ReportInterval.Total) continue;
                var start = UsageBuckets.Floor(row.Start, query.Interval == ReportInterval.Day ? Granularity.Day : Granularity.Hour);
                if (!group.Series.TryGetValue(start, out var point)) group.Series[start] = point = new UsageAggregate();
                point.Add(row.Totals);
            }
        }

        var total = new UsageAggregate();
        var list = new List<UsageReportGroup>();
        foreach (var (value, group) in groups.OrderByDescending(g => g.Value.Totals.CostUsd).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            total.Add(group.Totals);
            list.Add(new UsageReportGroup(value, group.Totals, [.. group.Series.Select(kv => (kv.Key, kv.Value))]));
        }

        return new UsageReport(query, total, list);
    }

    private static IEnumerable<RollupSegment> SliceByMonth(RollupSegment segment)
    {
        if (segment.Granularity == Granularity.Month) return [segment];
        var slices = new List<RollupSegment>();
        for (var start = segment.From; start < segment.To;)
        {
            var end = UsageBuckets.Next(UsageBuckets.Floor(start, Granularity.Month), Granularity.Month);
            if (end > segment.To) end = segment.To;
            slices.Add(segment with { From = start, To = end });
            start = end;
        }

        return slices;
    }

    /// <summary>The report as JSON. Costs are exact decimals (unrounded sums of per-request costs) in USD and, when a
    /// currency is asked for, converted with the configured rate.</summary>
    public static JsonObject ToJson(UsageReport report, Func<decimal, decimal> convert)
    {
        var q = report.Query;
        JsonObject Totals(UsageAggregate a)
        {
            var o = new JsonObject
            {
                ["requests"] = a.Requests,
                ["errors"] = a.Errors,
                ["prompt_tokens"] = a.PromptTokens,
                ["completion_tokens"] = a.CompletionTokens,
                ["cached_tokens"] = a.CachedTokens,
                ["cache_write_tokens"] = a.CacheWriteTokens,
                ["reasoning_tokens"] = a.ReasoningTokens,
                ["total_tokens"] = a.TotalTokens,
                ["cost_usd"] = a.CostUsd,
                ["estimated_cost_requests"] = a.EstimatedCostRequests,
                ["avg_latency_ms"] = a.Requests == 0 ? 0 : Math.Round((double)a.LatencyMsTotal / a.Requests, 1),
                ["cache_hits"] = a.CacheHits,
                ["saved_usd"] = a.SavedUsd,
                ["rate_limited"] = a.RateLimited,
                ["safety_blocks"] = a.SafetyBlocks,
            };
            if (q.Currency != "USD")
            {
                o["cost"] = convert(a.CostUsd);
                o["saved"] = convert(a.SavedUsd);
            }
            return o;
        }

        var groups = new JsonArray();
        foreach (var g in report.Groups)
        {
            var o = Totals(g.Totals);
            o.Insert(0, "value", g.Value);
            if (q.Interval != ReportInterval.Total)
            {
                var series = new JsonArray();
                foreach (var (start, totals) in g.Series)
                {
                    var p = Totals(totals);
                    p.Insert(0, "start", start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                    series.Add(p);
                }

                o["series"] = series;
            }

            groups.Add(o);
        }

        return new JsonObject
        {
            ["object"] = "usage_report",
            ["from"] = q.From.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["to"] = q.To.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["group_by"] = q.GroupBy,
            ["value"] = q.Value,
            ["interval"] = q.Interval.ToString().ToLowerInvariant(),
            ["currency"] = q.Currency,
            ["totals"] = Totals(report.Totals),
            ["groups"] = groups,
        };
    }
}
