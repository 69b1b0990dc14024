using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Reports;
using Gateway.Core.Savings;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Functions.Tests.Reports;

/// <summary>
/// <c>GET /gateway/reports/summary</c> through the function class against Azurite: November of the fixed gateway
/// (<see cref="Gateway.Testing.Reports.SummaryData"/>) as JSON, CSV and PDF, the attachments named, bad parameters refused
/// by name, an empty range answered.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SummaryReportFunctionTests(AzuriteFixture azurite)
{
    private readonly FakeTimeProvider _time = new(GeneratedAt);

    private sealed class Budgets(params ConfiguredBudget[] budgets) : IBudgetSource
    {
        public Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ConfiguredBudget>>(budgets);
    }

    private async Task<SummaryReportFunction> NewFunctionAsync()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var prefix = azurite.UniqueName("sum").ToLowerInvariant();
        var usage = new UsageServices(connection, new GatewayOptions(), _time, prefix: prefix);
        var rows = Rows();
        await usage.Rollups.UpsertAsync([.. rows, .. Monthly(rows)], default);
        var budgets = new Budgets(new ConfiguredBudget(new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 1000m }, StartOf(Date("2026-01-01"))));
        var snapshots = new AnalyticsSnapshotService(new SpendAnalytics(usage.Rollups, budgets, _time, new AnalyticsOptions()),
            new BlobAnalyticsSnapshotStore(connection.BlobContainer(prefix)), new QueueAnalyticsAlertSink(connection.Queue(prefix + "alerts"), connection.Queue(prefix + "hooks")),
            new TableAlertLedger(connection.Table(prefix + "sent"), _time), _time);
        var gateway = new TestGateway();
        var summaries = new ExecutiveSummaryService(usage.Rollups, usage.Records, snapshots, () => new SavingsEngine(gateway.Runtime.Prices.Current, gateway.Runtime.Catalog),
            new AnalyticsOptions(), new SavingsOptions(), _time);
        return new SummaryReportFunction(gateway.Runtime, summaries, _time);
    }

    private static async Task<(int Status, string? ContentType, string? Disposition, byte[] Body)> GetAsync(SummaryReportFunction function, string query,
        string? adminKey = TestGateway.AdminKey)
    {
        var headers = adminKey is null ? null : new Dictionary<string, string> { ["x-admin-key"] = adminKey };
        var context = TestGateway.Request("GET", "/gateway/reports/summary", headers: headers);
        context.Request.QueryString = new QueryString(query);
        await function.Run(context.Request);
        var body = ((MemoryStream)context.Response.Body).ToArray();
        return (context.Response.StatusCode, context.Response.ContentType, context.Response.Headers.ContentDisposition.ToString() is { Length: > 0 } d ? d : null, body);
    }

    [Fact]
    public async Task A_month_is_answered_as_json_csv_and_pdf_the_files_as_named_attachments()
    {
        var function = await NewFunctionAsync();

        var json = await GetAsync(function, "?from=2026-11-01&to=2026-12-01");
        Assert.Equal((200, "application/json", (string?)null), (json.Status, json.ContentType, json.Disposition));
        var body = JsonNode.Parse(json.Body)!;
        Assert.Equal(("executive_summary", 2170m, 36.5), ((string?)body["object"], (decimal)body["spend"]!["cost_usd"]!, (double)body["trend"]!["change_pct"]!));
        Assert.Equal("search", (string?)body["top_consumers"]![0]!["entries"]![0]!["value"]);
        // the snapshot of 30 November has each budget's period in force at its end: December's, with $40 a day to come
        var budget = body["budgets_at_risk"]![0]!;
        Assert.Equal(("team:search", "2026-12-01T00:00:00Z", "likely", 0m), ((string?)budget["scope"], (string?)budget["period_start"], (string?)budget["risk"], (decimal)budget["spent_usd"]!));
        Assert.Equal(4, body["anomalies"]!.AsArray().Count);

        // without a range, on 2026-12-01: the whole of November
        var byDefault = JsonNode.Parse((await GetAsync(function, "")).Body)!;
        Assert.Equal(("2026-11-01", "2026-12-01"), ((string?)byDefault["from"], (string?)byDefault["to"]));

        var csv = await GetAsync(function, "?from=2026-11-01&to=2026-12-01&format=csv&scope=team:ads");
        Assert.Equal((200, "text/csv; charset=utf-8", "attachment; filename=\"executive-summary-team-ads-2026-11-01-2026-12-01.csv\""), (csv.Status, csv.ContentType, csv.Disposition));
        var text = Encoding.UTF8.GetString(csv.Body);
        Assert.StartsWith("section,rank,dimension,name,date,metric,value,detail\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nspend,,team,ads,,cost_usd,880,\r\n", text, StringComparison.Ordinal);

        var pdf = await GetAsync(function, "?from=2026-11-01&to=2026-12-01&format=pdf");
        Assert.Equal((200, "application/pdf", "attachment; filename=\"executive-summary-2026-11-01-2026-12-01.pdf\""), (pdf.Status, pdf.ContentType, pdf.Disposition));
        Assert.StartsWith("%PDF-", Encoding.ASCII.GetString(pdf.Body, 0, 5), StringComparison.Ordinal);
        Assert.Contains("%%EOF", Encoding.ASCII.GetString(pdf.Body[^32..]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_parameters_are_refused_by_name_and_an_empty_range_is_an_empty_report()
    {
        var function = await NewFunctionAsync();

        foreach (var (query, param) in new[]
        {
            ("?from=November", "from"), ("?from=2026-11-01T12:00:00Z", "from"), ("?to=2026-12-02", "to"), ("?from=2026-11-10&to=2026-11-01", "to"),
            ("?scope=squad:a", "scope"), ("?scope=team", "scope"), ("?format=docx", "format"),
        })
        {
            var bad = await GetAsync(function, query);
            Assert.Equal((400, "application/json"), (bad.Status, bad.ContentType));
            Assert.Equal(param, (string?)JsonNode.Parse(bad.Body)!["error"]!["param"]);
        }

        var empty = await GetAsync(function, "?from=2026-11-01&to=2026-11-01");
        Assert.Equal(200, empty.Status);
        var body = JsonNode.Parse(empty.Body)!;
        Assert.Equal((0, 0m), ((int)body["days"]!, (decimal)body["spend"]!["cost_usd"]!));
        Assert.Empty(body["daily"]!.AsArray());
        var emptyPdf = await GetAsync(function, "?from=2026-11-01&to=2026-11-01&format=pdf");
        Assert.Equal((200, "application/pdf"), (emptyPdf.Status, emptyPdf.ContentType));
        Assert.StartsWith("%PDF-", Encoding.ASCII.GetString(emptyPdf.Body, 0, 5), StringComparison.Ordinal);

        Assert.Equal(401, (await GetAsync(function, "?format=pdf", adminKey: null)).Status);
    }
}
