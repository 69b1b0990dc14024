using Gateway.Core.Analytics;
using Gateway.Core.Usage;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Spend and error-rate spikes against a median + MAD baseline: planted ones found with their reason, ordinary days left alone.</summary>
public sealed class AnomalyDetectionTests
{
    private static readonly DateOnly Day = Date("2026-11-28");

    /// <summary>Fourteen days whose median is exactly $67.40 (and whose MAD is $2.40).</summary>
    private static readonly decimal[] Baseline = [60.10m, 72.30m, 67.40m, 65.00m, 70.20m, 67.40m, 63.90m, 69.80m, 67.40m, 66.10m, 71.00m, 67.40m, 64.50m, 68.90m];

    private static IEnumerable<RollupRow> Search(decimal spikeCost, long requests = 1000, long errors = 12, long spikeRequests = 1000, long spikeErrors = 12)
    {
        for (var i = 0; i < Baseline.Length; i++) yield return Row("team", "search", Day.AddDays(i - 14), Baseline[i], requests, errors);
        yield return Row("team", "search", Day, spikeCost, spikeRequests, spikeErrors);
    }

    [Fact]
    public void A_planted_spend_spike_is_found_with_its_reason()
    {
        var anomaly = Assert.Single(Compute("2026-11-28", Search(412m)).Anomalies);

        Assert.Equal("team=search spent $412 on 2026-11-28, 6.1× its 14-day median of $67.40", anomaly.Reason);
        Assert.Equal((AnomalyKind.Spend, AnomalySeverity.Medium, "team", "search", Day), (anomaly.Kind, anomaly.Severity, anomaly.Dimension, anomaly.Value, anomaly.Date));
        Assert.Equal((412m, 67.40m, 2.40m, 14), (anomaly.Observed, anomaly.BaselineMedian, anomaly.BaselineMad, anomaly.BaselineDays));
        Assert.Equal(6.11, anomaly.Ratio);
        // (412 − 67.4) ÷ max(1.4826 × 2.40, 10 % of 67.40)
        Assert.Equal(Math.Round(344.6 / 6.74, 2), anomaly.Score);
        Assert.Matches("^anomaly-spend-20261128-[0-9a-f]{16}$", anomaly.Id);
    }

    [Fact]
    public void A_planted_error_rate_spike_is_found_with_its_reason()
    {
        // about 1.2 % of 1,000 requests fail on ordinary days (9 to 15 of them); on the day 277 of 1,204 do
        var errors = new long[] { 12, 11, 13, 12, 10, 14, 12, 12, 9, 15, 12, 13, 11, 12 };
        var rows = Enumerable.Range(0, 14).Select(i => Row("team", "search", Day.AddDays(i - 14), 67m, 1000, errors[i]))
            .Append(Row("team", "search", Day, 67m, 1204, 277));

        var anomaly = Assert.Single(Compute("2026-11-28", rows).Anomalies);

        Assert.Equal("team=search: 23.0% of 1,204 requests failed on 2026-11-28, against a 14-day median of 1.2%", anomaly.Reason);
        Assert.Equal((AnomalyKind.ErrorRate, AnomalySeverity.Medium), (anomaly.Kind, anomaly.Severity));
        Assert.Equal((0.230066m, 0.012m, 1204L, 277L), (anomaly.Observed, anomaly.BaselineMedian, anomaly.Requests, anomaly.Errors));
        Assert.Matches("^anomaly-error-rate-20261128-[0-9a-f]{16}$", anomaly.Id);
    }

    [Theory]
    [InlineData(202.20, AnomalySeverity.Low)] // exactly 3×: the least multiple that counts
    [InlineData(202.19, null)]
    [InlineData(220.00, AnomalySeverity.Low)]
    [InlineData(337.00, AnomalySeverity.Medium)] // 5×
    [InlineData(674.00, AnomalySeverity.High)] // 10×
    [InlineData(150.00, null)]
    public void Severity_follows_the_multiple_of_the_median(double cost, AnomalySeverity? expected)
    {
        var anomalies = Compute("2026-11-28", Search((decimal)cost)).Anomalies;
        if (expected is { } severity) Assert.Equal(severity, Assert.Single(anomalies).Severity);
        else Assert.Empty(anomalies);
    }

    [Fact]
    public void Every_scope_the_spike_touches_is_named_each_with_its_own_baseline()
    {
        var team = Search(412m).ToList();
        // all traffic is team=search plus a steady $500 a day elsewhere: the same $345 extra is no spike there
        var all = team.Select(r => r with { Dimension = UsageDimensions.All, Value = "*", Totals = Plus(r.Totals, 500m) });
        var anomalies = Compute("2026-11-28", team.Concat(all)).Anomalies;
        Assert.Equal(("team", "search"), (Assert.Single(anomalies).Dimension, anomalies[0].Value));
    }

    private static UsageAggregate Plus(UsageAggregate a, decimal cost)
    {
        var sum = new UsageAggregate();
        sum.Add(a);
        sum.CostUsd += cost;
        return sum;
    }

    [Fact]
    public void Flat_data_raises_nothing_on_any_day()
    {
        var rows = Daily("team", "flat", Date("2026-09-01"), Date("2026-11-30"), _ => 120m, _ => 800, _ => 8);
        for (var d = Date("2026-09-20"); d <= Date("2026-11-30"); d = d.AddDays(1))
            Assert.Empty(Compute(d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), rows).Anomalies);
    }

    [Fact]
    public void Noisy_data_and_weekly_cycles_raise_nothing_on_any_day()
    {
        // spend log-normal around $100 (σ = 0.3: the busiest of 90 days is about twice the quietest), weekends at a fifth,
        // request counts ±20 % and each request failing with probability 2 %
        var normal = Normal(42);
        var random = new Random(42);
        var rows = new List<RollupRow>();
        for (var d = Date("2026-09-01"); d <= Date("2026-11-30"); d = d.AddDays(1))
        {
            var weekend = d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
            var cost = Math.Round((decimal)(100 * Math.Exp(0.3 * normal()) * (weekend ? 0.2 : 1)), 2);
            var requests = (long)(1000 * (0.8 + 0.4 * random.NextDouble()) * (weekend ? 0.2 : 1));
            var errors = Enumerable.Range(0, (int)requests).LongCount(_ => random.NextDouble() < 0.02);
            rows.Add(Row("team", "noisy", d, cost, requests, errors));
        }

        for (var d = Date("2026-09-20"); d <= Date("2026-11-30"); d = d.AddDays(1))
            Assert.Empty(Compute(d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), rows).Anomalies);
    }

    [Fact]
    public void Small_scopes_new_scopes_and_sporadic_scopes_do_not_alarm()
    {
        var rows = new List<RollupRow>();
        // eight times its median, but $4: under the $10 volume guard
        rows.AddRange(Daily("key", "tiny", Day.AddDays(-14), Day, d => d == Day ? 4m : 0.5m));
        // three days old: no baseline yet
        rows.AddRange(Daily("user", "new", Day.AddDays(-3), Day, d => d == Day ? 900m : 20m));
        // a weekly batch: idle most days, so its median is 0 and it has no typical day to spike from
        rows.AddRange(Daily("tag", "job=batch", Day.AddDays(-27), Day, d => d.DayOfWeek == Day.DayOfWeek ? 500m : 0m, d => d.DayOfWeek == Day.DayOfWeek ? 100 : 0));
        // 40 requests, 30 failed: under the 50-request volume guard
        rows.AddRange(Daily("model", "rare", Day.AddDays(-14), Day, _ => 1m, _ => 40, d => d == Day ? 30 : 0));
        Assert.Empty(Compute("2026-11-28", rows).Anomalies);
    }

    [Fact]
    public void An_earlier_spike_in_the_baseline_does_not_hide_a_new_one()
    {
        var rows = Search(412m).Select(r => r.Start.Day == 20 ? Row("team", "search", Date("2026-11-20"), 900m, 1000, 12) : r);
        var anomaly = Assert.Single(Compute("2026-11-28", rows).Anomalies);
        Assert.Equal(AnomalyKind.Spend, anomaly.Kind);
        Assert.InRange(anomaly.BaselineMedian, 67m, 68m);
    }

    [Fact]
    public void Only_rises_are_anomalies()
    {
        Assert.Empty(Compute("2026-11-28", Search(0.5m, spikeRequests: 3, spikeErrors: 0)).Anomalies);
    }

    [Fact]
    public void The_same_spike_has_the_same_id_and_another_day_or_scope_another()
    {
        var first = Assert.Single(Compute("2026-11-28", Search(412m)).Anomalies).Id;
        Assert.Equal(first, Assert.Single(Compute("2026-11-28", Search(500m)).Anomalies).Id);
        var moved = Search(412m).Select(r => r with { Start = r.Start.AddDays(1) });
        Assert.NotEqual(first, Assert.Single(Compute("2026-11-29", moved).Anomalies).Id);
        var other = Search(412m).Select(r => r with { Value = "ads" });
        Assert.NotEqual(first, Assert.Single(Compute("2026-11-28", other).Anomalies).Id);
    }

    [Fact]
    public void Anomalies_are_ordered_most_severe_first()
    {
        var rows = Search(412m).Concat(Search(700m).Select(r => r with { Value = "ads" })).Concat(Search(250m).Select(r => r with { Value = "maps" }));
        Assert.Equal(["ads", "search", "maps"], Compute("2026-11-28", rows).Anomalies.Select(a => a.Value));
    }
}
