using System.Globalization;
using System.Runtime.CompilerServices;
using Gateway.Core.Analytics;
using Gateway.Core.Usage;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Rollup rows for analytics tests, built by hand: one row per scope and day, as the rollup job writes them.</summary>
internal static class AnalyticsData
{
    public static DateOnly Date(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateTimeOffset Instant(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    public static RollupRow Row(string dimension, string value, DateOnly day, decimal cost, long requests = 100, long errors = 0, long tokens = 1000, long latencyMsTotal = 0,
        Granularity granularity = Granularity.Day, int hour = 0) =>
        new(granularity, new DateTimeOffset(day.ToDateTime(new TimeOnly(hour, 0)), TimeSpan.Zero), dimension, value, new UsageAggregate
        {
            Requests = requests,
            Errors = errors,
            PromptTokens = tokens * 3 / 4,
            CompletionTokens = tokens - tokens * 3 / 4,
            CostUsd = cost,
            LatencyMsTotal = latencyMsTotal,
        });

    /// <summary>A daily series of one scope: <paramref name="cost"/> of each day from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static IEnumerable<RollupRow> Daily(string dimension, string value, DateOnly from, DateOnly to, Func<DateOnly, decimal> cost, Func<DateOnly, long>? requests = null,
        Func<DateOnly, long>? errors = null)
    {
        for (var d = from; d <= to; d = d.AddDays(1))
            yield return Row(dimension, value, d, cost(d), requests?.Invoke(d) ?? 100, errors?.Invoke(d) ?? 0);
    }

    /// <summary>The same rows under every dimension they would count in for one team's traffic (all traffic and the team).</summary>
    public static IEnumerable<RollupRow> AllAndTeam(string team, IEnumerable<RollupRow> teamRows) =>
        teamRows.SelectMany(r => new[] { r, r with { Dimension = UsageDimensions.All, Value = "*" } });

    /// <summary>Standard normal draws from a seeded generator (Box–Muller), so "noisy" data is the same on every run.</summary>
    public static Func<double> Normal(int seed)
    {
        var random = new Random(seed);
        return () => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    public static AnalyticsSnapshot Compute(string date, IEnumerable<RollupRow> rows, IReadOnlyList<BudgetPeriodSpend>? budgets = null, AnalyticsOptions? options = null,
        AnalyticsScope? scope = null) =>
        SpendAnalytics.Compute(Date(date), rows, budgets ?? [], Instant("2026-12-01T00:30:00Z"), options ?? new AnalyticsOptions(), scope);
}

/// <summary>Rollups in memory, read as the table store reads them (granularity, dimension, [from, to), optionally one value).</summary>
internal sealed class MemoryRollupStore : IRollupStore
{
    private readonly List<RollupRow> _rows = [];

    public int Reads { get; private set; }

    public MemoryRollupStore(IEnumerable<RollupRow>? rows = null) => _rows.AddRange(rows ?? []);

    public Task UpsertAsync(IReadOnlyList<RollupRow> rows, CancellationToken cancellationToken)
    {
        foreach (var row in rows)
        {
            _rows.RemoveAll(r => r.Granularity == row.Granularity && r.Start == row.Start && r.Dimension == row.Dimension && r.Value == row.Value);
            _rows.Add(row);
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<RollupRow> ReadAsync(Granularity granularity, string dimension, DateTimeOffset from, DateTimeOffset to, string? value,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Reads++;
        await Task.Yield();
        foreach (var row in _rows.Where(r => r.Granularity == granularity && r.Dimension == dimension && r.Start >= from && r.Start < to && (value is null || r.Value == value)).ToList())
            yield return row;
    }

    public Task<long> DeleteBeforeAsync(Granularity granularity, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Task.FromResult((long)_rows.RemoveAll(r => r.Granularity == granularity && r.Start < cutoff));
}
