using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>
/// The summary as one flat CSV table of line items (RFC 4180, CRLF, UTF-8 without a byte-order mark), one figure per row:
/// <c>section,rank,scope,date,metric,value,detail</c>. A spreadsheet filters or pivots it by section and metric; every
/// section is there, with no rows when it is empty. Numbers are written invariantly and never quoted; every text cell that
/// a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is quoted with a leading '.
/// </summary>
public static class SummaryCsv
{
    public static readonly IReadOnlyList<string> Columns = ["section", "rank", "scope", "date", "metric", "value", "detail"];

    public static string Write(ExecutiveSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var csv = new Table();
        csv.Header(Columns);
        var scope = summary.Scope;
        csv.Text("range", null, scope, null, "from", Day(summary.From));
        csv.Text("range", null, scope, null, "to", Day(summary.To), "exclusive");
        csv.Number("range", null, scope, null, "days", summary.Days);
        csv.Text("range", null, scope, null, "generated_at", Instant(summary.GeneratedAt));

        csv.Number("spend", null, scope, null, "cost_usd", summary.Spend.CostUsd);
        csv.Number("spend", null, scope, null, "requests", summary.Spend.Requests);
        csv.Number("spend", null, scope, null, "errors", summary.Spend.Errors);
        csv.Number("spend", null, scope, null, "total_tokens", summary.Spend.TotalTokens);

        var t = summary.Trend;
        var previous = $"{Day(t.PreviousFrom)}..{Day(t.PreviousTo)} (exclusive)";
        csv.Number("trend", null, scope, null, "previous_cost_usd", t.Previous.CostUsd, previous);
        csv.Number("trend", null, scope, null, "previous_requests", t.Previous.Requests, previous);
        csv.Number("trend", null, scope, null, "change_usd", t.ChangeUsd);
        csv.Number("trend", null, scope, null, "change_pct", t.ChangePct, t.ChangePct is null ? "no spend in the previous range" : null);

        foreach (var d in summary.Daily)
        {
            csv.Number("daily", null, scope, Day(d.Date), "cost_usd", d.CostUsd);
            csv.Number("daily", null, scope, Day(d.Date), "requests", d.Requests);
        }

        if (summary.Forecast is { } f)
        {
            var month = f.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
            var how = $"as of {Day(f.AsOf)}, {Name(f.Method.ToString())}, day {f.DaysElapsed} of {f.DaysInMonth}";
            csv.Number("forecast", null, scope, month, "month_to_date_usd", f.MonthToDateUsd, how);
            csv.Number("forecast", null, scope, month, "projected_usd", f.ProjectedUsd, how);
            csv.Number("forecast", null, scope, month, "lower_usd", f.LowerUsd, "90% prediction interval");
            csv.Number("forecast", null, scope, month, "upper_usd", f.UpperUsd, "90% prediction interval");
            csv.Number("forecast", null, scope, month, "run_rate_usd_per_day", f.RunRateUsdPerDay);
        }

        foreach (var list in summary.TopConsumers)
        {
            foreach (var c in list.Entries)
            {
                var section = "top_" + list.Dimension;
                var who = list.Dimension + ":" + c.Value;
                csv.Number(section, c.Rank, who, null, "cost_usd", c.CostUsd);
                csv.Number(section, c.Rank, who, null, "share_pct", c.SharePct);
                csv.Number(section, c.Rank, who, null, "requests", c.Requests);
                csv.Number(section, c.Rank, who, null, "total_tokens", c.TotalTokens);
            }
        }

        var rank = 0;
        foreach (var b in summary.BudgetsAtRisk)
        {
            rank++;
            var detail = $"risk={Name(b.Risk.ToString())}; period={Name(b.Period.ToString())}; runs_out_on={(b.RunsOutOn is { } r ? Day(r) : "-")}; horizon_end={Instant(b.HorizonEnd)}";
            csv.Number("budget_at_risk", rank, b.Scope, null, "limit_usd", b.LimitUsd, detail);
            csv.Number("budget_at_risk", rank, b.Scope, null, "spent_usd", b.SpentUsd, detail);
            csv.Number("budget_at_risk", rank, b.Scope, null, "projected_usd", b.ProjectedUsd, detail);
            csv.Number("budget_at_risk", rank, b.Scope, null, "upper_usd", b.UpperUsd, detail);
        }

        rank = 0;
        foreach (var a in summary.Anomalies)
        {
            rank++;
            var who = a.Dimension + ":" + a.Value;
            var metric = a.Kind == Analytics.AnomalyKind.Spend ? "observed_usd" : "observed_error_rate";
            csv.Number("anomaly", rank, who, Day(a.Date), metric, a.Observed, $"{Name(a.Severity.ToString())}: {a.Reason}");
            csv.Number("anomaly", rank, who, Day(a.Date), a.Kind == Analytics.AnomalyKind.Spend ? "baseline_median_usd" : "baseline_median_error_rate", a.BaselineMedian);
        }

        var s = summary.Savings;
        var window = $"{Instant(s.From)}..{Instant(s.To)}";
        csv.Number("savings", null, scope, null, "total_monthly_saving_usd", s.TotalMonthlySavingUsd, window);
        csv.Number("savings", null, scope, null, "monthly_spend_usd", s.MonthlySpendUsd, window);
        csv.Number("savings", null, scope, null, "recommendations", s.Recommendations, window);
        rank = 0;
        foreach (var r in s.Top)
        {
            rank++;
            csv.Number("recommendation", rank, r.Scope, null, "estimated_monthly_saving_usd", r.EstimatedMonthlySavingUsd, $"{r.Kind} ({r.Confidence}): {r.Title}");
        }

        return csv.ToString();
    }

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Name(string enumName) => JsonNamingPolicy.SnakeCaseLower.ConvertName(enumName);

    /// <summary>Rows built cell by cell; each line ends with CRLF.</summary>
    private sealed class Table
    {
        private readonly StringBuilder _text = new();

        public void Header(IEnumerable<string> names) => _text.Append(string.Join(',', names)).Append("\r\n");

        public void Text(string section, int? rank, string scope, string? date, string metric, string value, string? detail = null) =>
            Row(section, rank, scope, date, metric, line => UsageExport.Cell(line, value), detail);

        public void Number(string section, int? rank, string scope, string? date, string metric, decimal? value, string? detail = null) =>
            Row(section, rank, scope, date, metric, line => line.Append(value?.ToString(CultureInfo.InvariantCulture)).Append(','), detail);

        public void Number(string section, int? rank, string scope, string? date, string metric, long value, string? detail = null) =>
            Number(section, rank, scope, date, metric, (decimal)value, detail);

        public void Number(string section, int? rank, string scope, string? date, string metric, double? value, string? detail = null) =>
            Row(section, rank, scope, date, metric, line => line.Append(value?.ToString("R", CultureInfo.InvariantCulture)).Append(','), detail);

        private void Row(string section, int? rank, string scope, string? date, string metric, Action<StringBuilder> value, string? detail)
        {
            var line = new StringBuilder();
            UsageExport.Cell(line, section);
            line.Append(rank?.ToString(CultureInfo.InvariantCulture)).Append(',');
            UsageExport.Cell(line, scope);
            UsageExport.Cell(line, date);
            UsageExport.Cell(line, metric);
            value(line);
            UsageExport.Cell(line, detail);
            line.Length--; // the last comma
            _text.Append(line).Append("\r\n");
        }

        public override string ToString() => _text.ToString();
    }
}
