using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Core.Analytics;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>
/// The summary as one flat CSV table of line items (RFC 4180, CRLF, UTF-8 without a byte-order mark), one figure per row:
/// <c>section,rank,dimension,name,date,metric,value,detail</c> — a spreadsheet filters or pivots it by section and metric.
/// <c>name</c> is a scope's value as recorded (a team, a model, a key id). Numbers are written invariantly and never quoted;
/// every text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is quoted
/// with a leading <c>'</c>, so a team named <c>=HYPERLINK(…)</c> is shown, never run.
/// </summary>
public static class SummaryCsv
{
    public static readonly IReadOnlyList<string> Columns = ["section", "rank", "dimension", "name", "date", "metric", "value", "detail"];

    public static string Write(ExecutiveSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var csv = new Table();
        var (dimension, name) = Split(summary.Scope);
        void Line(string section, string metric, object? value, string? detail = null, string? date = null) =>
            csv.Row(section, null, dimension, name, date, metric, value, detail);

        Line("range", "from", Day(summary.From));
        Line("range", "to", Day(summary.To), "exclusive");
        Line("range", "days", summary.Days);
        Line("range", "generated_at", Instant(summary.GeneratedAt));

        Line("spend", "cost_usd", summary.Spend.CostUsd);
        Line("spend", "requests", summary.Spend.Requests);
        Line("spend", "errors", summary.Spend.Errors);
        Line("spend", "total_tokens", summary.Spend.TotalTokens);

        var t = summary.Trend;
        var previous = $"{Day(t.PreviousFrom)} to {Day(t.PreviousTo)} (exclusive)";
        Line("trend", "previous_cost_usd", t.Previous.CostUsd, previous);
        Line("trend", "previous_requests", t.Previous.Requests, previous);
        Line("trend", "change_usd", t.ChangeUsd);
        Line("trend", "change_pct", t.ChangePct, t.ChangePct is null ? "no spend in the previous range" : null);

        foreach (var d in summary.Daily)
        {
            Line("daily", "cost_usd", d.CostUsd, date: Day(d.Date));
            Line("daily", "requests", d.Requests, date: Day(d.Date));
        }

        if (summary.Forecast is { } f)
        {
            var month = f.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
            var how = $"as of {Day(f.AsOf)}, day {f.DaysElapsed} of {f.DaysInMonth}, {Name(f.Method)}";
            Line("forecast", "month_to_date_usd", f.MonthToDateUsd, how, month);
            Line("forecast", "projected_usd", f.ProjectedUsd, how, month);
            Line("forecast", "lower_usd", f.LowerUsd, "90% prediction interval", month);
            Line("forecast", "upper_usd", f.UpperUsd, "90% prediction interval", month);
            Line("forecast", "run_rate_usd_per_day", f.RunRateUsdPerDay, null, month);
        }

        foreach (var list in summary.TopConsumers)
        {
            foreach (var c in list.Entries)
            {
                var section = "top_" + list.Dimension;
                csv.Row(section, c.Rank, list.Dimension, c.Value, null, "cost_usd", c.CostUsd, null);
                csv.Row(section, c.Rank, list.Dimension, c.Value, null, "share_pct", c.SharePct, null);
                csv.Row(section, c.Rank, list.Dimension, c.Value, null, "requests", c.Requests, null);
                csv.Row(section, c.Rank, list.Dimension, c.Value, null, "total_tokens", c.TotalTokens, null);
            }
        }

        var rank = 0;
        foreach (var b in summary.BudgetsAtRisk)
        {
            rank++;
            var (kind, id) = Split(b.Scope);
            var detail = $"risk {Name(b.Risk)}; {Name(b.Period)} period from {Instant(b.PeriodStart)} ({b.TimeZone}); projected to {Instant(b.HorizonEnd)}; " +
                $"runs out on {(b.RunsOutOn is { } r ? Day(r) : "-")}";
            csv.Row("budget_at_risk", rank, kind, id, null, "limit_usd", b.LimitUsd, detail);
            csv.Row("budget_at_risk", rank, kind, id, null, "spent_usd", b.SpentUsd, detail);
            csv.Row("budget_at_risk", rank, kind, id, null, "projected_usd", b.ProjectedUsd, detail);
            csv.Row("budget_at_risk", rank, kind, id, null, "upper_usd", b.UpperUsd, detail);
        }

        rank = 0;
        foreach (var a in summary.Anomalies)
        {
            rank++;
            var spend = a.Kind == AnomalyKind.Spend;
            var detail = $"{a.Reason} (severity {Name(a.Severity)})";
            csv.Row("anomaly", rank, a.Dimension, a.Value, Day(a.Date), spend ? "observed_usd" : "observed_error_rate", a.Observed, detail);
            csv.Row("anomaly", rank, a.Dimension, a.Value, Day(a.Date), spend ? "baseline_median_usd" : "baseline_median_error_rate", a.BaselineMedian, detail);
        }

        var s = summary.Savings;
        var window = $"records of {Instant(s.From)} to {Instant(s.To)}";
        Line("savings", "total_monthly_saving_usd", s.TotalMonthlySavingUsd, window);
        Line("savings", "monthly_spend_usd", s.MonthlySpendUsd, window);
        Line("savings", "recommendations", s.Recommendations, window);
        rank = 0;
        foreach (var r in s.Top)
        {
            rank++;
            var (kind, id) = Split(r.Scope);
            csv.Row("recommendation", rank, kind, id, null, "estimated_monthly_saving_usd", r.EstimatedMonthlySavingUsd, $"{r.Title} ({r.Kind}, {r.Confidence} confidence)");
        }

        return csv.ToString();
    }

    /// <summary><c>team:search</c> → (team, search); <c>all</c> → (all, *); <c>global</c> → (global, empty).</summary>
    private static (string Dimension, string Name) Split(string scope)
    {
        if (scope == "all") return (UsageDimensions.All, "*");
        var colon = scope.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (scope, "") : (scope[..colon], scope[(colon + 1)..]);
    }

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    /// <summary>Rows built cell by cell; each line ends with CRLF.</summary>
    private sealed class Table
    {
        private readonly StringBuilder _text = new StringBuilder().Append(string.Join(',', Columns)).Append("\r\n");

        /// <summary>One line item: a number (decimal, long, int, double) is written as is; a text value as a neutralised cell.</summary>
        public void Row(string section, int? rank, string dimension, string name, string? date, string metric, object? value, string? detail)
        {
            var line = new StringBuilder();
            UsageExport.Cell(line, section);
            line.Append(rank?.ToString(CultureInfo.InvariantCulture)).Append(',');
            UsageExport.Cell(line, dimension);
            UsageExport.Cell(line, name);
            UsageExport.Cell(line, date);
            UsageExport.Cell(line, metric);
            switch (value)
            {
                case null: line.Append(','); break;
                case string text: UsageExport.Cell(line, text); break;
                case double d: line.Append(d.ToString("R", CultureInfo.InvariantCulture)).Append(','); break;
                case IFormattable number: line.Append(number.ToString(null, CultureInfo.InvariantCulture)).Append(','); break;
                default: throw new ArgumentException($"not a cell value: {value.GetType()}", nameof(value));
            }

            UsageExport.Cell(line, detail);
            line.Length--; // the last comma
            _text.Append(line).Append("\r\n");
        }

        public override string ToString() => _text.ToString();
    }
}
