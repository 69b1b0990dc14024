using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Dashboard;
using Gateway.Core.Usage;
using Gateway.Functions.Budgets;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Functions.Tests.Analytics;

/// <summary>
/// The snapshot timer and the analytics route against Azurite: rollups in, the snapshot in a blob, alerts through the
/// budget alerts' queues to a real local webhook that checks the signature, nothing alerted twice.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AnalyticsFunctionsTests(AzuriteFixture azurite)
{
    private const string Secret = "whsec-analytics";
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-29T00:30:00Z", CultureInfo.InvariantCulture);
    private static readonly DateOnly Yesterday = new(2026, 11, 28);
    private readonly FakeTimeProvider _time = new(Now);

    private sealed class Budgets(params ConfiguredBudget[] budgets) : IBudgetSource
    {
        public Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ConfiguredBudget>>(budgets);
    }

    private sealed record Setup(AnalyticsFunctions Functions, QueueClient AlertQueue, QueueClient Webhooks, BlobAnalyticsSnapshotStore Snapshots);

    /// <summary>team=search spends $64–70 a day and $412 yesterday, against a $2,300 monthly budget.</summary>
    private async Task<Setup> NewSetupAsync(DashboardSessions? dashboard = null, Gateway.Core.Hosting.GatewayFeatures? features = null)
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var name = azurite.UniqueName("an");
        var rollups = new TableRollupStore(connection.Table(name + "rollups"));
        var rows = new List<RollupRow>();
        for (var d = new DateOnly(2026, 10, 1); d <= Yesterday; d = d.AddDays(1))
        {
            var totals = new UsageAggregate { Requests = 1000, Errors = 10, PromptTokens = 50_000, CompletionTokens = 10_000, CostUsd = d == Yesterday ? 412m : 64m + d.Day % 7, LatencyMsTotal = 800_000 };
            var start = new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            rows.Add(new RollupRow(Granularity.Day, start, UsageDimensions.Team, "search", totals));
            rows.Add(new RollupRow(Granularity.Day, start, UsageDimensions.All, "*", totals));
        }

        await rollups.UpsertAsync(rows, default);
        var budgets = new Budgets(new ConfiguredBudget(new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 2300m }, Now.AddMonths(-3)));
        var alertQueue = connection.Queue(name + "alerts");
        var webhooks = connection.Queue(name + "hooks");
        var snapshots = new BlobAnalyticsSnapshotStore(connection.BlobContainer(name));
        var service = new AnalyticsSnapshotService(new SpendAnalytics(rollups, budgets, _time, new AnalyticsOptions()), snapshots,
            new QueueAnalyticsAlertSink(alertQueue, webhooks), new TableAlertLedger(connection.Table(name + "sent"), _time), _time);
        var gateway = new TestGateway(features: features);
        return new Setup(new AnalyticsFunctions(gateway.Runtime, service, _time, NullLogger<AnalyticsFunctions>.Instance, dashboard: dashboard), alertQueue, webhooks, snapshots);
    }

    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();

        public Receiver()
        {
            Url = $"http://127.0.0.1:{LocalServerProcess.FreePort()}/hooks/analytics/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public ConcurrentQueue<(string Body, string? Signature, string? Id)> Received { get; } = new();

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
                    Received.Enqueue((await reader.ReadToEndAsync(), context.Request.Headers[BudgetAlertMessages.SignatureHeader], context.Request.Headers[BudgetAlertMessages.AlertIdHeader]));
                context.Response.StatusCode = 204;
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }

    private sealed class Clients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }

    private static async Task<List<string>> DrainAsync(QueueClient queue)
    {
        var texts = new List<string>();
        if (!await queue.ExistsAsync()) return texts;
        while ((await queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } batch)
        {
            foreach (var m in batch)
            {
                texts.Add(m.MessageText);
                await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
            }
        }

        return texts;
    }

    [Fact]
    public async Task With_the_analytics_flag_off_the_timer_stores_and_sends_nothing_and_the_route_answers_feature_disabled()
    {
        // the same data that makes the timer store a snapshot and send three alerts (the test below)
        var s = await NewSetupAsync(features: Gateway.Core.Hosting.GatewayFeatures.Without(Gateway.Core.Hosting.GatewayFeature.Analytics));
        await s.Functions.Snapshot(new Microsoft.Azure.Functions.Worker.TimerInfo(), null!, default);
        Assert.Null(await s.Snapshots.ReadAsync(Yesterday, default));
        Assert.Empty(await DrainAsync(s.AlertQueue));
        Assert.Empty(await DrainAsync(s.Webhooks));

        var context = TestGateway.Request("GET", "/gateway/analytics", headers: new Dictionary<string, string> { ["x-admin-key"] = TestGateway.AdminKey });
        await s.Functions.Get(context.Request);
        Assert.Equal(404, context.Response.StatusCode);
        var error = JsonNode.Parse(TestGateway.ResponseText(context))!["error"]!;
        Assert.Equal("feature_disabled", (string?)error["code"]);
        Assert.Contains("FeatureManagement:Analytics", (string?)error["message"], StringComparison.Ordinal);
        Assert.Null(await s.Snapshots.ReadAsync(Yesterday, default));
    }

    [Fact]
    public async Task The_timer_stores_yesterdays_snapshot_and_its_alerts_reach_the_webhook_signed_and_once()
    {
        var s = await NewSetupAsync();
        using var receiver = new Receiver();
        var options = new GatewayOptions();
        options.Budgets.AlertWebhookUrl = receiver.Url;
        options.Budgets.AlertWebhookSecret = Secret;
        var delivery = new BudgetAlertFunctions(options, new Clients(), _time, NullLogger<BudgetAlertFunctions>.Instance);

        await s.Functions.Snapshot(new Microsoft.Azure.Functions.Worker.TimerInfo(), null!, default);

        var stored = AnalyticsJson.Deserialize((await s.Snapshots.ReadAsync(Yesterday, default))!)!;
        Assert.Equal(Yesterday, stored.Date);
        // all traffic is team=search's here, so both scopes spiked: two anomalies, and the budget's overrun
        Assert.Equal(["*", "search"], stored.Anomalies.Select(a => a.Value).Order());
        // the same messages on the alert queue (any consumer) and the webhook queue (the signed sender)
        Assert.Equal(3, (await DrainAsync(s.AlertQueue)).Count);
        var messages = await DrainAsync(s.Webhooks);
        Assert.Equal(3, messages.Count);
        foreach (var message in messages) await delivery.Deliver(message, default);

        Assert.Equal(3, receiver.Received.Count);
        foreach (var (body, signature, id) in receiver.Received)
        {
            Assert.True(BudgetAlertMessages.Verify(Secret, signature!, body, _time.GetUtcNow(), TimeSpan.FromMinutes(5)), body);
            Assert.False(BudgetAlertMessages.Verify("whsec-other", signature!, body, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
            Assert.Equal((string?)JsonNode.Parse(body)!["id"], id);
        }

        var anomaly = receiver.Received.Select(r => JsonNode.Parse(r.Body)!).Single(a => (string?)a["type"] == AnalyticsAlerts.AnomalyType && (string?)a["scope"] == "team:search");
        Assert.Equal(("team:search", "spend", "2026-11-28"), ((string?)anomaly["scope"], (string?)anomaly["kind"], (string?)anomaly["date"]));
        Assert.StartsWith("team=search spent $412 on 2026-11-28", (string?)anomaly["reason"], StringComparison.Ordinal);
        var overrun = JsonNode.Parse(receiver.Received.Single(r => r.Body.Contains(AnalyticsAlerts.ForecastOverrunType, StringComparison.Ordinal)).Body)!;
        Assert.Equal(("team:search", "likely"), ((string?)overrun["scope"], (string?)overrun["risk"]));

        // the timer fires again (a retry, the next schedule the same day): the snapshot is replaced, no alert goes out twice
        _time.Advance(TimeSpan.FromMinutes(5));
        await s.Functions.Snapshot(new Microsoft.Azure.Functions.Worker.TimerInfo(), null!, default);
        Assert.Empty(await DrainAsync(s.Webhooks));
        Assert.Empty(await DrainAsync(s.AlertQueue));
        Assert.Equal(_time.GetUtcNow(), AnalyticsJson.Deserialize((await s.Snapshots.ReadAsync(Yesterday, default))!)!.ComputedAt);
    }

    private static async Task<(int Status, JsonObject Body)> GetAsync(AnalyticsFunctions functions, string query, string? adminKey = TestGateway.AdminKey)
    {
        var headers = adminKey is null ? null : new Dictionary<string, string> { ["x-admin-key"] = adminKey };
        var context = TestGateway.Request("GET", "/gateway/analytics", headers: headers);
        context.Request.QueryString = new QueryString(query);
        await functions.Get(context.Request);
        return (context.Response.StatusCode, JsonNode.Parse(TestGateway.ResponseText(context))!.AsObject());
    }

    [Fact]
    public async Task The_route_answers_a_scope_of_a_day_refuses_bad_parameters_by_name_and_answers_a_day_without_data_with_empty_lists()
    {
        var s = await NewSetupAsync();

        var (status, body) = await GetAsync(s.Functions, "?date=2026-11-28&scope=team:search");
        Assert.Equal(200, status);
        Assert.Equal(("analytics_snapshot", "2026-11-28", "team:search"), ((string?)body["object"], (string?)body["date"], (string?)body["scope"]));
        var trend = Assert.Single(body["trends"]!.AsArray())!;
        Assert.Equal(412m, (decimal)trend["day"]!["cost_usd"]!["current"]!);
        Assert.StartsWith("team=search spent $412", (string?)body["anomalies"]![0]!["reason"], StringComparison.Ordinal);
        Assert.Equal("likely", (string?)body["budgets"]![0]!["risk"]);
        // computed on demand and stored: the next answer is the stored one
        Assert.NotNull(await s.Snapshots.ReadAsync(Yesterday, default));

        foreach (var (query, param) in new[] { ("?date=28-11-2026", "date"), ("?date=2026-11-29", "date"), ("?scope=teams:search", "scope"), ("?refresh=maybe", "refresh") })
        {
            var (badStatus, error) = await GetAsync(s.Functions, query);
            Assert.Equal(400, badStatus);
            Assert.Equal(param, (string?)error["error"]!["param"]);
        }

        var (emptyStatus, empty) = await GetAsync(s.Functions, "?date=2025-06-01");
        Assert.Equal(200, emptyStatus);
        Assert.Empty(empty["trends"]!.AsArray());
        Assert.Empty(empty["anomalies"]!.AsArray());
        Assert.Empty(empty["top"]!["day"]!.AsArray());

        var (unauthorized, _) = await GetAsync(s.Functions, "?date=2026-11-28", adminKey: null);
        Assert.Equal(401, unauthorized);
    }

    [Fact]
    public async Task The_route_also_takes_a_dashboard_session_with_its_header_and_nothing_less()
    {
        var sessions = DashboardSessions.Create(new DashboardOptions { SessionKey = "analytics-dashboard-session-key-of-32-characters-at-least" }, TestGateway.AdminKey, false, _time);
        var s = await NewSetupAsync(sessions);
        var token = sessions.Sessions!.Issue().Token;

        async Task<int> WithSessionAsync(string cookie, bool header = true, string query = "?date=2026-11-28")
        {
            var headers = new Dictionary<string, string> { ["Cookie"] = $"{DashboardSessions.CookieName}={cookie}" };
            if (header) headers[DashboardSessions.CsrfHeader] = "1";
            var context = TestGateway.Request("GET", "/gateway/analytics", headers: headers);
            context.Request.QueryString = new QueryString(query);
            await s.Functions.Get(context.Request);
            return context.Response.StatusCode;
        }

        Assert.Equal(200, await WithSessionAsync(token));
        // the cookie alone is not enough (a page elsewhere cannot add the header), and a token altered is no session
        Assert.Equal(403, await WithSessionAsync(token, header: false));
        Assert.Equal(401, await WithSessionAsync(token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1]));
        // computing and storing the snapshot again is the admin key's alone: a session reads
        Assert.Equal(401, await WithSessionAsync(token, query: "?date=2026-11-28&refresh=true"));
        Assert.Equal(200, await WithSessionAsync(token, query: "?date=2026-11-28&refresh=false"));
        // the admin key still works alongside
        Assert.Equal(200, (await GetAsync(s.Functions, "?date=2026-11-28")).Status);
        Assert.Equal(200, (await GetAsync(s.Functions, "?date=2026-11-28&refresh=true")).Status);
    }
}
