using System.Globalization;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// A year of daily and monthly rollups written straight into the host's rollup table, for teams, keys, models, a tag and
/// the <c>upstream</c> deployment that no other test uses (the <c>dash-</c> names), ending yesterday (UTC) so the host's
/// rollup timer, which recomputes today and this month from finer rows, keeps them as they are. Per day
/// <c>i</c>: dash-alpha 100 requests costing 1.00 + 0.10 × (i mod 7) USD with 10 cache hits saving 0.05 USD; dash-beta 40
/// requests costing 0.50 USD with 2 rate-limit refusals; dash-gamma 10 requests costing 0.25 × (i mod 3) USD with one
/// safety block — but on the last day (yesterday, the day of the analytics snapshot the page reads) <see cref="SpikeUsd"/>,
/// a planted spend anomaly. And, for the savings recommendations, <see cref="BatchRequests"/> raw usage records written
/// through the usage store today: a nightly job's unstreamed requests tagged <c>mode=batch</c> (today's rollups are the
/// host's to compute from them, so no seeded day is recomputed).
/// </summary>
public static class DashboardSeed
{
    public const int Days = 366;
    public const string Alpha = "dash-alpha";
    public const string Beta = "dash-beta";
    public const string Gamma = "dash-gamma";
    /// <summary>dash-gamma's spend on the last seeded day: 160 × its usual median of $0.25.</summary>
    public const decimal SpikeUsd = 40m;

    public const string BatchKey = "key_dashbatch";
    public const string BatchKeyName = "dash nightly job";
    public const string BatchTeam = "dash-batch";
    public const int BatchRequests = 24;
    /// <summary>Each batch record's cost: 100,000 prompt and 10,000 completion tokens of gpt-4o.</summary>
    public const decimal BatchCostUsd = 0.35m;

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _seeded;

    /// <summary>The first seeded day; day <c>i</c> is this plus i days, the last is yesterday.</summary>
    public static DateTimeOffset FirstDay(DateTimeOffset today) => today.AddDays(-Days);

    public static DateTimeOffset Today => new(DateTimeOffset.UtcNow.UtcDateTime.Date, TimeSpan.Zero);

    public static UsageAggregate Team(string team, int i) => team switch
    {
        Alpha => new UsageAggregate
        {
            Requests = 100, Errors = 2, PromptTokens = 50_000, CompletionTokens = 10_000, CostUsd = 1.00m + (0.10m * (i % 7)), LatencyMsTotal = 100 * 200,
            CacheHits = 10, SavedUsd = 0.05m,
        },
        Beta => new UsageAggregate { Requests = 40, Errors = 1, PromptTokens = 20_000, CompletionTokens = 4_000, CostUsd = 0.50m, LatencyMsTotal = 40 * 300, RateLimited = 2 },
        Gamma => new UsageAggregate
        {
            Requests = 10, PromptTokens = 5_000, CompletionTokens = 1_000, CostUsd = i == Days - 1 ? SpikeUsd : 0.25m * (i % 3), LatencyMsTotal = 10 * 150, SafetyBlocks = 1,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(team)),
    };

    public static UsageAggregate Sum(params UsageAggregate[] parts)
    {
        var sum = new UsageAggregate();
        foreach (var part in parts) sum.Add(part);
        return sum;
    }

    /// <summary>Every (dimension, value) of day <c>i</c>.</summary>
    public static IEnumerable<(string Dimension, string Value, UsageAggregate Totals)> DayRows(int i)
    {
        var (a, b, g) = (Team(Alpha, i), Team(Beta, i), Team(Gamma, i));
        var all = Sum(a, b, g);
        yield return (UsageDimensions.All, "*", all);
        yield return (UsageDimensions.Team, Alpha, a);
        yield return (UsageDimensions.Team, Beta, b);
        yield return (UsageDimensions.Team, Gamma, g);
        yield return (UsageDimensions.Key, "key_dashseed1", a);
        yield return (UsageDimensions.Key, "key_dashseed2", Sum(b, g));
        yield return (UsageDimensions.Model, "dash-large", Sum(a, b));
        yield return (UsageDimensions.Model, "dash-small", g);
        yield return (UsageDimensions.Tag, "dash=seed", all);
        yield return (UsageDimensions.Deployment, "upstream", all);
    }

    /// <summary>Writes the rows once per storage account (the tests of a run share one host and its Azurite).</summary>
    public static async Task SeedAsync(string storage)
    {
        await Gate.WaitAsync();
        try
        {
            if (_seeded == storage) return;
            var store = new TableRollupStore(StorageConnection.FromConnectionString(storage).Table("usagerollups"));
            var first = FirstDay(Today);
            var rows = new List<RollupRow>();
            var months = new Dictionary<(DateTimeOffset, string, string), UsageAggregate>();
            for (var i = 0; i < Days; i++)
            {
                var day = first.AddDays(i);
                foreach (var (dimension, value, totals) in DayRows(i))
                {
                    rows.Add(new RollupRow(Granularity.Day, day, dimension, value, totals));
                    var month = UsageBuckets.Floor(day, Granularity.Month);
                    if (!months.TryGetValue((month, dimension, value), out var sum)) months[(month, dimension, value)] = sum = new UsageAggregate();
                    sum.Add(totals);
                }
            }

            // this month's rows are the host's to write (from the day rows, these included): replacing them would drop today's traffic
            var thisMonth = UsageBuckets.Floor(Today, Granularity.Month);
            rows.AddRange(months.Where(m => m.Key.Item1 != thisMonth).Select(m => new RollupRow(Granularity.Month, m.Key.Item1, m.Key.Item2, m.Key.Item3, m.Value)));
            await store.UpsertAsync(rows, default);
            await SeedBatchRecordsAsync(storage);
            _seeded = storage;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The batch job's records, a few minutes ago (and today: a record of yesterday would have its day recomputed from finer rows).</summary>
    private static async Task SeedBatchRecordsAsync(string storage)
    {
        var connection = StorageConnection.FromConnectionString(storage);
        var records = new TableUsageStore(connection.Table("usagerecords"), connection.Table("usagedirty"));
        var now = DateTimeOffset.UtcNow;
        var at = now.AddMinutes(-10) < Today ? Today : now.AddMinutes(-10);
        var batch = Enumerable.Range(0, BatchRequests).Select(i => new UsageRecord
        {
            RequestId = $"dashbatch-{i:00}-{Guid.NewGuid():N}",
            At = at.AddSeconds(i),
            KeyId = BatchKey,
            KeyName = BatchKeyName,
            Team = BatchTeam,
            Tags = new Dictionary<string, string> { ["mode"] = "batch" },
            ModelRequested = "gpt-4o",
            ModelServed = "gpt-4o",
            Provider = "openai",
            Deployment = "dash-gpt-4o",
            PromptTokens = 100_000,
            CompletionTokens = 10_000,
            CostUsd = BatchCostUsd,
            PriceKey = "openai/gpt-4o@2024-10-02",
            LatencyMs = 4_000,
            Attempts = 1,
            Outcome = UsageOutcomes.Success,
        }).ToList();
        await records.WriteAsync(batch, default);
    }

    /// <summary>As the page shows an amount of dollars of at least one.</summary>
    public static string Usd(decimal value) => value.ToString("$#,##0.00", CultureInfo.InvariantCulture);
}
