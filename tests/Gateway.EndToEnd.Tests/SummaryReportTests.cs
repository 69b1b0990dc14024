using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// <c>GET /gateway/reports/summary</c> on the real host over rollups seeded for a team of its own: JSON, CSV and PDF (the PDF
/// read back with PdfPig: the chart and fonts work in the worker), bad parameters refused by name, an empty range answered.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class SummaryReportTests(HostFixture fixture)
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);
    private static readonly DateOnly From = Today.AddDays(-14);

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A team of its own that spent $20 a day for 40 days and $300 yesterday: $560 over the last 14 days.</summary>
    private async Task<string> SeedTeamAsync()
    {
        var team = "sum" + Guid.NewGuid().ToString("N")[..10];
        var rollups = new TableRollupStore(StorageConnection.FromConnectionString(fixture.Storage).Table("usagerollups"));
        var rows = new List<RollupRow>();
        var yesterday = Today.AddDays(-1);
        for (var d = Today.AddDays(-40); d <= yesterday; d = d.AddDays(1))
        {
            var totals = new UsageAggregate
            {
                Requests = 200, Errors = 1, PromptTokens = 150_000, CompletionTokens = 30_000, LatencyMsTotal = 200 * 600, CostUsd = d == yesterday ? 300m : 20m,
            };
            rows.Add(new RollupRow(Granularity.Day, new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), UsageDimensions.Team, team, totals));
        }

        await rollups.UpsertAsync(rows, default);
        return team;
    }

    private async Task<(int Status, string? ContentType, string? Disposition, byte[] Body)> GetAsync(string query, bool admin = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "gateway/reports/summary" + query);
        if (admin) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", HostFixture.AdminKey);
        using var response = await fixture.Http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return ((int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), response.Content.Headers.ContentDisposition?.ToString(), body);
    }

    [HostFact]
    public async Task A_teams_summary_comes_as_json_csv_and_a_pdf_with_its_figures()
    {
        var team = await SeedTeamAsync();
        var query = $"?from={Day(From)}&to={Day(Today)}&scope=team:{team}";

        var json = await GetAsync(query);
        Assert.Equal(200, json.Status);
        Assert.StartsWith("application/json", json.ContentType, StringComparison.Ordinal);
        var body = JsonNode.Parse(json.Body)!;
        Assert.Equal(("executive_summary", "team:" + team, 14), ((string?)body["object"], (string?)body["scope"], (int)body["days"]!));
        Assert.Equal(560m, (decimal)body["spend"]!["cost_usd"]!);
        Assert.Equal(280m, (decimal)body["trend"]!["previous"]!["cost_usd"]!);
        Assert.Equal(14, body["daily"]!.AsArray().Count);
        Assert.Contains(body["top_consumers"]![0]!["entries"]!.AsArray(), e => (string?)e!["value"] == team);
        var spike = Assert.Single(body["anomalies"]!.AsArray())!;
        Assert.StartsWith($"team={team} spent $300 on {Day(Today.AddDays(-1))}", (string?)spike["reason"], StringComparison.Ordinal);
        // the forecast is the snapshot of yesterday's: the timer keeps it current, so it has the team once it recomputed after the seeding
        var forecast = await HostFixture.EventuallyAsync(async () => JsonNode.Parse((await GetAsync(query)).Body)!["forecast"], f => f is not null, TimeSpan.FromSeconds(60),
            "the forecast of the seeded team");
        Assert.True((decimal)forecast!["projected_usd"]! >= (decimal)forecast["month_to_date_usd"]!);

        var csv = await GetAsync(query + "&format=csv");
        Assert.Equal((200, "text/csv; charset=utf-8"), (csv.Status, csv.ContentType));
        Assert.Equal($"attachment; filename=\"executive-summary-team-{team}-{Day(From)}-{Day(Today)}.csv\"", csv.Disposition);
        var text = Encoding.UTF8.GetString(csv.Body);
        Assert.StartsWith("section,rank,dimension,name,date,metric,value,detail\r\n", text, StringComparison.Ordinal);
        Assert.Contains($"\r\nspend,,team,{team},,cost_usd,560,\r\n", text, StringComparison.Ordinal);

        var pdf = await GetAsync(query + "&format=pdf");
        Assert.Equal((200, "application/pdf"), (pdf.Status, pdf.ContentType));
        Assert.Equal($"attachment; filename=\"executive-summary-team-{team}-{Day(From)}-{Day(Today)}.pdf\"", pdf.Disposition);
        using var document = UglyToad.PdfPig.PdfDocument.Open(pdf.Body);
        var pages = document.GetPages().Select(p => p.Text).ToList();
        var all = string.Join("\n", pages);
        Assert.Contains($"team:{team} · ", pages[0], StringComparison.Ordinal);
        Assert.Contains("$560.00", pages[0], StringComparison.Ordinal);
        Assert.Contains("+100.0%", pages[0], StringComparison.Ordinal);
        Assert.Contains($"team={team} spent $300", all, StringComparison.Ordinal);
        Assert.Contains($"Page 1 of {pages.Count}", pages[0], StringComparison.Ordinal);
        // the chart is an image on page 1: SkiaSharp's native library loaded in the worker
        Assert.NotEmpty(document.GetPage(1).GetImages());
    }

    [HostFact]
    public async Task Bad_parameters_are_a_400_naming_them_and_an_empty_range_is_an_empty_report()
    {
        foreach (var (query, param) in new[]
        {
            ("?from=last-month", "from"), ($"?from={Day(Today)}T06:00:00Z", "from"), ($"?to={Day(Today.AddDays(1))}", "to"),
            ($"?from={Day(Today.AddDays(-3))}&to={Day(Today.AddDays(-5))}", "to"), ("?scope=squad:x", "scope"), ("?scope=model", "scope"), ("?format=xlsx", "format"),
        })
        {
            var bad = await GetAsync(query);
            Assert.Equal(400, bad.Status);
            Assert.Equal(param, (string?)JsonNode.Parse(bad.Body)!["error"]!["param"]);
        }

        var empty = await GetAsync($"?from={Day(Today.AddDays(-3))}&to={Day(Today.AddDays(-3))}");
        Assert.Equal(200, empty.Status);
        var body = JsonNode.Parse(empty.Body)!;
        Assert.Equal((0, 0m, 0m), ((int)body["days"]!, (decimal)body["spend"]!["cost_usd"]!, (decimal)body["savings"]!["total_monthly_saving_usd"]!));
        Assert.Empty(body["daily"]!.AsArray());
        Assert.Null(body["forecast"]);

        var emptyPdf = await GetAsync($"?from={Day(Today.AddDays(-3))}&to={Day(Today.AddDays(-3))}&format=pdf");
        Assert.Equal((200, "application/pdf"), (emptyPdf.Status, emptyPdf.ContentType));
        using var document = UglyToad.PdfPig.PdfDocument.Open(emptyPdf.Body);
        Assert.Equal(1, document.NumberOfPages);
        Assert.Contains("empty range", document.GetPage(1).Text, StringComparison.Ordinal);

        Assert.Equal(401, (await GetAsync("?format=pdf", admin: false)).Status);
    }
}
