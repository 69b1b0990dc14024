using Gateway.Core.Analytics;
using Gateway.Core.Reports;
using SkiaSharp;
using Xunit.Abstractions;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Reports.Tests;

/// <summary>
/// The summary's PDF, read back with PdfPig (its figures are in its text) and page 1 rendered by pdftoppm (it shows something,
/// the chart among it). The PDFs and page images are kept under TestResults/reports.
/// </summary>
public sealed class SummaryPdfTests(ITestOutputHelper output)
{
    private static readonly SKColor ChartBlue = SKColor.Parse("#2F6DB5");
    private static readonly SKColor SpikeOrange = SKColor.Parse("#E07B00");

    [Fact]
    public void The_figures_are_in_the_text_of_the_pdf()
    {
        var pdf = SummaryPdf.Render(NovemberSummary());
        var path = PdfPages.Keep("november.pdf", pdf);
        var pages = PdfPages.Text(pdf);
        output.WriteLine($"{path}: {pdf.Length:N0} bytes, {pages.Count} page(s)");
        foreach (var page in pages) output.WriteLine(page);

        Assert.StartsWith("%PDF-", System.Text.Encoding.ASCII.GetString(pdf, 0, 5), StringComparison.Ordinal);
        Assert.InRange(pages.Count, 1, 3);
        var text = string.Join("\n", pages);
        Assert.Contains("LLM spend: executive summary", pages[0], StringComparison.Ordinal);
        Assert.Contains("All traffic · 1 Nov 2026 to 30 Nov 2026 (30 days)", pages[0], StringComparison.Ordinal);
        Assert.Contains("$2,170.00", pages[0], StringComparison.Ordinal);          // spend
        Assert.Contains("+36.5%", pages[0], StringComparison.Ordinal);             // against the 30 days before
        Assert.Contains("+$580.00 (was $1,590.00)", pages[0], StringComparison.Ordinal);
        Assert.Contains("$250.00/mo", pages[0], StringComparison.Ordinal);         // savings on the table
        Assert.Contains("1. search$1,200.0055.3%", text, StringComparison.Ordinal); // the top team, its cost and share
        Assert.Contains("team:searchmonthly from 1 Dec$1,000.00$0.00$1,240.00likely25 Dec 2026", text, StringComparison.Ordinal); // the budget at risk
        Assert.Contains("team=ads spent $300 on 2026-11-20", text, StringComparison.Ordinal);     // the anomaly
        Assert.Contains("Send short gpt-4o requests to gpt-4o-mini", text, StringComparison.Ordinal); // the largest saving
        for (var i = 0; i < pages.Count; i++) Assert.Contains($"Page {i + 1} of {pages.Count}", pages[i], StringComparison.Ordinal);
    }

    [Fact]
    public void Page_one_renders_to_an_image_that_shows_the_chart()
    {
        var path = PdfPages.Keep("november-render.pdf", SummaryPdf.Render(NovemberSummary()));

        var png = PdfPages.RenderPage(path, 1, 100);

        var (width, height) = PdfPages.Size(png);
        var (inked, blue) = PdfPages.Ink(png, ChartBlue);
        var (_, orange) = PdfPages.Ink(png, SpikeOrange);
        output.WriteLine($"{png}: {width}×{height}, {inked:P1} inked, {blue:P2} chart blue, {orange:P3} spike orange");
        Assert.Equal((827, 1170), (width, height)); // A4 at 100 dpi
        Assert.InRange(inked, 0.03, 0.6);
        Assert.True(blue > 0.01, $"the chart's bars cover {blue:P2} of the page");
        Assert.True(orange > 0.0002, $"the spike's bar covers {orange:P3} of the page");
    }

    [Fact]
    public void An_empty_summary_is_a_valid_one_page_pdf_that_says_so()
    {
        var pdf = SummaryPdf.Render(EmptySummary());
        var path = PdfPages.Keep("empty.pdf", pdf);
        var pages = PdfPages.Text(pdf);

        var page = Assert.Single(pages);
        Assert.Contains("empty range (1 Nov 2026)", page, StringComparison.Ordinal);
        Assert.Contains("$0.00", page, StringComparison.Ordinal);
        Assert.Contains("No days in the range: nothing to chart.", page, StringComparison.Ordinal);
        Assert.Contains("No budget is at risk.", page, StringComparison.Ordinal);
        Assert.Contains("No spend or error-rate spike in the range.", page, StringComparison.Ordinal);
        Assert.Contains("Nothing to analyse in an empty range.", page, StringComparison.Ordinal);
        Assert.Contains("Page 1 of 1", page, StringComparison.Ordinal);
        var (inked, _) = PdfPages.Ink(PdfPages.RenderPage(path, 1, 50), ChartBlue);
        Assert.True(inked > 0.005, $"{inked:P2} inked");
    }

    [Fact]
    public void A_year_with_many_anomalies_and_budgets_flows_onto_numbered_pages()
    {
        var year = Date("2025-12-01");
        var november = NovemberSummary();
        var anomaly = november.Anomalies[1];
        var budget = november.BudgetsAtRisk[0];
        var summary = november with
        {
            From = year,
            Days = 365,
            Daily = [.. Enumerable.Range(0, 365).Select(i => new DailySpend(year.AddDays(i), 50m + i % 30 + (i == 300 ? 400m : 0m), 500))],
            Anomalies = [.. Enumerable.Range(0, 40).Select(i => anomaly with { Date = year.AddDays(300 - i), Value = $"team-{i:00}", Reason = anomaly.Reason.Replace("ads", $"team-{i:00}", StringComparison.Ordinal) })],
            BudgetsAtRisk = [.. Enumerable.Range(0, 30).Select(i => budget with { Scope = $"team:team-{i:00}" })],
        };

        var pdf = SummaryPdf.Render(summary);
        var path = PdfPages.Keep("year.pdf", pdf);
        var pages = PdfPages.Text(pdf);
        output.WriteLine($"{path}: {pdf.Length:N0} bytes, {pages.Count} pages");

        Assert.InRange(pages.Count, 2, 6);
        for (var i = 0; i < pages.Count; i++) Assert.Contains($"Page {i + 1} of {pages.Count}", pages[i], StringComparison.Ordinal);
        var text = string.Join("\n", pages);
        Assert.Contains("team:team-29", text, StringComparison.Ordinal);
        Assert.Contains("team=team-14 spent", text, StringComparison.Ordinal);
        Assert.DoesNotContain("team=team-15 spent", text, StringComparison.Ordinal);
        Assert.Contains($"And {40 - SummaryPdf.MaxAnomalies} more", text, StringComparison.Ordinal);
        // the table's header is drawn again on the page the budgets continue on
        Assert.Equal(2, pages.Count(p => p.Contains("BudgetPeriodLimit", StringComparison.Ordinal)));
        var (_, blue) = PdfPages.Ink(PdfPages.RenderPage(path, 1, 60), ChartBlue);
        Assert.True(blue > 0.0005, $"the year's line covers {blue:P3} of page 1");
    }

    [Fact]
    public void Names_that_do_not_fit_are_cut_and_names_beyond_ascii_are_kept()
    {
        var november = NovemberSummary();
        var teams = november.TopConsumers[0];
        var summary = november with
        {
            Scope = "team:équipe-β",
            TopConsumers = [teams with { Entries = [teams.Entries[0] with { Value = "équipe-β" }, teams.Entries[1] with { Value = new string('w', 200) }] }],
        };

        var text = string.Join("\n", PdfPages.Text(SummaryPdf.Render(summary)));

        Assert.Contains("team:équipe-β · 1 Nov 2026", text, StringComparison.Ordinal);
        Assert.Contains("1. équipe-β", text, StringComparison.Ordinal);
        Assert.Contains("2. www", text, StringComparison.Ordinal);
        Assert.Contains("w…$880.00", text, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('w', 200), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_render_at_the_same_time_each_its_own_document()
    {
        var scopes = Enumerable.Range(0, 8).Select(i => $"team:t{i}").ToList();

        var pdfs = await Task.WhenAll(scopes.Select(scope => Task.Run(() => SummaryPdf.Render(NovemberSummary() with { Scope = scope }))));

        for (var i = 0; i < scopes.Count; i++)
        {
            var page = PdfPages.Text(pdfs[i])[0];
            Assert.Contains(scopes[i] + " · 1 Nov 2026", page, StringComparison.Ordinal);
            Assert.Contains("$2,170.00", page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_chart_is_a_png_of_the_asked_size_with_the_spike_marked()
    {
        var png = SpendChart.Png(NovemberSummary(), 800, 300);
        var path = Path.Combine(PdfPages.ArtifactDirectory, "november-chart.png");
        File.WriteAllBytes(path, png);

        Assert.Equal((800, 300), PdfPages.Size(path));
        var (_, blue) = PdfPages.Ink(path, ChartBlue);
        var (_, orange) = PdfPages.Ink(path, SpikeOrange);
        Assert.True(blue > 0.05, $"{blue:P1} blue");
        Assert.True(orange > 0.005, $"{orange:P1} orange");
        var quiet = NovemberSummary() with { Anomalies = [] };
        var quietPath = Path.Combine(PdfPages.ArtifactDirectory, "november-chart-quiet.png");
        File.WriteAllBytes(quietPath, SpendChart.Png(quiet, 800, 300));
        Assert.Equal(0, PdfPages.Ink(quietPath, SpikeOrange).OfColor);
    }
}
