using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// Spend analytics on the real host: the snapshot timer (every 10 s here) over rollups seeded for yesterday, its
/// anomaly and forecast-overrun alerts at the signed webhook exactly once, and <c>GET /gateway/analytics</c>.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class AnalyticsTests(HostFixture fixture)
{
    private static readonly DateOnly Yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A team of its own that spent about $20 a day for 30 days and $300 yesterday, written where the rollup job writes.</summary>
    private async Task<string> SeedTeamAsync()
    {
        var team = "an" + Guid.NewGuid().ToString("N")[..10];
        var rollups = new TableRollupStore(StorageConnection.FromConnectionString(fixture.Storage).Table("usagerollups"));
        var rows = new List<RollupRow>();
        for (var d = Yesterday.AddDays(-30); d <= Yesterday; d = d.AddDays(1))
        {
            var totals = new UsageAggregate
            {
                Requests = 400, Errors = 2, PromptTokens = 300_000, CompletionTokens = 60_000, LatencyMsTotal = 400 * 700,
                CostUsd = d == Yesterday ? 300m : 18m + d.DayNumber % 5,
            };
            rows.Add(new RollupRow(Granularity.Day, new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), UsageDimensions.Team, team, totals));
        }

        await rollups.UpsertAsync(rows, default);
        return team;
    }

    private async Task<AnalyticsSnapshot?> StoredSnapshotAsync()
    {
        var blob = StorageConnection.FromConnectionString(fixture.Storage).BlobContainer("gateway-analytics").GetBlobClient($"snapshots/{Day(Yesterday)}.json");
        if (!await blob.ExistsAsync()) return null;
        return AnalyticsJson.Deserialize((await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    private List<(JsonNode Json, string Body, string? Signature, string? AlertId)> AlertsFor(string scope) =>
        [.. fixture.Webhooks.Received.Select(r => (Json: JsonNode.Parse(r.Body)!, r.Body, r.Signature, r.AlertId)).Where(r => (string?)r.Json["scope"] == scope)];

    [HostFact]
    public async Task The_timer_stores_yesterdays_snapshot_and_alerts_the_spike_and_the_overrun_once_each_by_signed_webhook()
    {
        var team = await SeedTeamAsync();
        var scope = "team:" + team;
        // a monthly budget the team is on course to pass (or has passed) whatever day of the month it is
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/" + scope, """{"limit_usd":100,"period":"monthly"}""")).Status);

        var alerts = await HostFixture.EventuallyAsync(() => Task.FromResult(AlertsFor(scope)), a => a.Count >= 2, TimeSpan.FromSeconds(150),
            "the anomaly and forecast-overrun alerts at the webhook");

        foreach (var alert in alerts)
        {
            Assert.True(BudgetAlertMessages.Verify(HostFixture.WebhookSecret, alert.Signature!, alert.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), alert.Body);
            Assert.Equal((string?)alert.Json["id"], alert.AlertId);
        }

        var anomaly = Assert.Single(alerts, a => (string?)a.Json["type"] == AnalyticsAlerts.AnomalyType).Json;
        Assert.Equal(("spend", Day(Yesterday)), ((string?)anomaly["kind"], (string?)anomaly["date"]));
        Assert.StartsWith($"team={team} spent $300 on {Day(Yesterday)}, ", (string?)anomaly["reason"], StringComparison.Ordinal);
        var overrun = Assert.Single(alerts, a => (string?)a.Json["type"] == AnalyticsAlerts.ForecastOverrunType).Json;
        Assert.Contains((string?)overrun["risk"], new[] { "likely", "exceeded" });
        Assert.Equal(100m, (decimal)overrun["limit_usd"]!);

        // the snapshot is stored; the timer keeps recomputing it, and sends neither alert again
        var first = await HostFixture.EventuallyAsync(StoredSnapshotAsync, s => s?.Anomalies.Any(a => a.Value == team) == true, TimeSpan.FromSeconds(30), "the stored snapshot");
        await HostFixture.EventuallyAsync(StoredSnapshotAsync, s => s!.ComputedAt > first!.ComputedAt.AddSeconds(15), TimeSpan.FromSeconds(90), "two more timer runs");
        Assert.Equal(2, AlertsFor(scope).Count);
    }

    [HostFact]
    public async Task The_route_answers_a_scope_refuses_bad_parameters_by_name_and_a_day_without_data_is_empty()
    {
        var team = await SeedTeamAsync();

        var reply = await fixture.AdminAsync(HttpMethod.Get, $"gateway/analytics?date={Day(Yesterday)}&scope=team:{team}&refresh=true");
        Assert.Equal(200, reply.Status);
        var body = reply.Json!;
        Assert.Equal(("analytics_snapshot", Day(Yesterday), "team:" + team), ((string?)body["object"], (string?)body["date"], (string?)body["scope"]));
        var trend = Assert.Single(body["trends"]!.AsArray())!;
        Assert.Equal(300m, (decimal)trend["day"]!["cost_usd"]!["current"]!);
        Assert.NotNull(trend["week"]!["cost_usd"]!["change_pct"]);
        var forecast = Assert.Single(body["forecasts"]!.AsArray())!;
        Assert.True((decimal)forecast["projected_usd"]! >= (decimal)forecast["month_to_date_usd"]!);
        Assert.StartsWith($"team={team} spent $300", (string?)body["anomalies"]![0]!["reason"], StringComparison.Ordinal);
        Assert.Contains(body["top"]!["day"]![0]!["by_cost"]!.AsArray(), l => (string?)l!["value"] == team);

        // the whole snapshot, as stored
        var whole = await fixture.AdminAsync(HttpMethod.Get, "gateway/analytics");
        Assert.Equal(200, whole.Status);
        Assert.Equal(Day(Yesterday), (string?)whole.Json!["date"]);
        Assert.Null((string?)whole.Json["scope"]);

        foreach (var (query, param) in new[]
        {
            ("date=yesterday", "date"), ($"date={Day(Yesterday.AddDays(1))}", "date"), ("date=2000-01-01", "date"),
            ("scope=squad:search", "scope"), ("scope=team:", "scope"), ("refresh=please", "refresh"),
        })
        {
            var bad = await fixture.AdminAsync(HttpMethod.Get, "gateway/analytics?" + query);
            Assert.Equal(400, bad.Status);
            Assert.Equal(param, (string?)bad.Json!["error"]!["param"]);
        }

        var empty = await fixture.AdminAsync(HttpMethod.Get, $"gateway/analytics?date={Day(Yesterday.AddDays(-700))}");
        Assert.Equal(200, empty.Status);
        Assert.Empty(empty.Json!["trends"]!.AsArray());
        Assert.Empty(empty.Json["anomalies"]!.AsArray());
        Assert.Empty(empty.Json["top"]!["month_to_date"]!.AsArray());

        Assert.Equal(401, (await fixture.SendAsync(HttpMethod.Get, "gateway/analytics", key: null)).Status);
    }
}
