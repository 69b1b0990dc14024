using Gateway.Core.Usage;

namespace Gateway.Core.Analytics;

/// <summary>One scope's usage by UTC day, folded from rollup rows; a day without a row is a day without traffic.</summary>
internal sealed class ScopeSeries(string dimension, string value)
{
    private static readonly UsageAggregate Empty = new();
    private readonly Dictionary<DateOnly, UsageAggregate> _days = [];

    public string Dimension { get; } = dimension;
    public string Value { get; } = value;

    /// <summary>The first day with traffic, or null when there is none.</summary>
    public DateOnly? FirstDay { get; private set; }

    public UsageAggregate Day(DateOnly day) => _days.TryGetValue(day, out var a) ? a : Empty;

    public bool HasTraffic(DateOnly day) => _days.TryGetValue(day, out var a) && a.Requests > 0;

    /// <summary>Sums the days from <paramref name="from"/> to <paramref name="to"/>, both included.</summary>
    public UsageAggregate Sum(DateOnly from, DateOnly to)
    {
        var sum = new UsageAggregate();
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            if (_days.TryGetValue(d, out var a)) sum.Add(a);
        }

        return sum;
    }

    internal void Add(DateOnly day, UsageAggregate totals)
    {
        if (!_days.TryGetValue(day, out var a)) _days[day] = a = new UsageAggregate();
        a.Add(totals);
        if (totals.Requests > 0 && (FirstDay is null || day < FirstDay)) FirstDay = day;
    }

    /// <summary>Folds rows (daily, or finer: each counts on its UTC day) into one series per (dimension, value), in dimension order then value.</summary>
    public static IReadOnlyList<ScopeSeries> Build(IEnumerable<RollupRow> rows)
    {
        var series = new Dictionary<(string, string), ScopeSeries>();
        foreach (var row in rows)
        {
            if (row.Granularity == Granularity.Month) throw new ArgumentException("analytics folds daily (or finer) rollup rows, not monthly ones", nameof(rows));
            if (!series.TryGetValue((row.Dimension, row.Value), out var s)) series[(row.Dimension, row.Value)] = s = new ScopeSeries(row.Dimension, row.Value);
            s.Add(DateOnly.FromDateTime(row.Start.UtcDateTime), row.Totals);
        }

        return [.. series.Values.OrderBy(s => DimensionOrder(s.Dimension)).ThenBy(s => s.Value, StringComparer.Ordinal)];
    }

    private static readonly Dictionary<string, int> Order = UsageDimensions.Names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);

    /// <summary>A dimension's place in <see cref="UsageDimensions.Names"/> (all, key, user, team, …), unknown ones last.</summary>
    internal static int DimensionOrder(string dimension) => Order.GetValueOrDefault(dimension, int.MaxValue);
}
