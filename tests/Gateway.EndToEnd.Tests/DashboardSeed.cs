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
/// safety block.
/// </summary>
public static class DashboardSeed
{
    public const int Days = 366;
    public const string Alpha = "dash-alpha";
    public const string Beta = "dash-beta";
    public const string Gamma = "dash-gamma";

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
        Gamma => new UsageAggregate { Requests = 10, PromptTokens = 5_000, CompletionTokens = 1_000, CostUsd = 0.25m * (i % 3), LatencyMsTotal = 10 * 150, SafetyBlocks = 1 },
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
            _seeded = storage;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>As the page shows an amount of dollars of at least one.</summary>
    public static string Usd(decimal value) => value.ToString("$#,##0.00", CultureInfo.InvariantCulture);
}
