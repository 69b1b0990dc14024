using System.Globalization;
using Gateway.Core.Analytics;
using Gateway.Core.Reports;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace Gateway.Reports;

/// <summary>
/// The executive summary as an A4 PDF (PDFsharp's cross-platform Core build, DejaVu Sans embedded as subsets): a header, four
/// figures (spend, change, month-end forecast, savings), the daily spend chart (<see cref="SpendChart"/>), top consumers,
/// budgets at risk, anomalies and the largest savings, flowing onto as many pages as they need, each page numbered. An empty
/// summary is a valid one-page PDF that says so. Its dates are the summary's own (<see cref="ExecutiveSummary.GeneratedAt"/>).
/// </summary>
public static class SummaryPdf
{
    /// <summary>Anomalies listed in the PDF (the JSON and CSV have them all).</summary>
    public const int MaxAnomalies = 15;

    public static byte[] Render(ExecutiveSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ReportFonts.Install();
        using var document = new PdfDocument();
        document.Info.Title = $"LLM spend: executive summary, {Text.ScopeLabel(summary.Scope)}, {Text.Range(summary)}";
        document.Info.Author = "LLM gateway";
        document.Info.Subject = "Spend, trend, forecast, top consumers, budgets at risk, anomalies and savings";
        document.Info.CreationDate = summary.GeneratedAt.UtcDateTime;
        document.Info.ModificationDate = summary.GeneratedAt.UtcDateTime;
        var layout = new Layout(document, summary);
        layout.Header();
        layout.Figures();
        layout.Chart();
        layout.TopConsumers();
        layout.BudgetsAtRisk();
        layout.Anomalies();
        layout.Savings();
        layout.Finish();
        using var output = new MemoryStream();
        document.Save(output, closeStream: false);
        return output.ToArray();
    }

    /// <summary>How figures read in the PDF: <c>$2,170.00</c>, <c>+36.5%</c>, <c>1 Nov 2026</c>.</summary>
    internal static class Text
    {
        public static string Usd(decimal value) => (value < 0 ? "-$" : "$") + Math.Abs(value).ToString("#,0.00", CultureInfo.InvariantCulture);

        public static string WholeUsd(decimal value) => (value < 0 ? "-$" : "$") + Math.Abs(value).ToString("#,0", CultureInfo.InvariantCulture);

        public static string SignedUsd(decimal value) => (value > 0 ? "+" : "") + Usd(value);

        public static string Pct(double value) => (value > 0 ? "+" : "") + value.ToString("0.0", CultureInfo.InvariantCulture) + "%";

        public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

        public static string Day(DateOnly day) => day.ToString("d MMM yyyy", CultureInfo.InvariantCulture);

        public static string IsoDay(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        public static string ScopeLabel(string scope) => scope == "all" ? "all traffic" : scope;

        public static string Range(ExecutiveSummary s) => s.LastDay is { } last
            ? $"{Day(s.From)} to {Day(last)} ({s.Days} day{(s.Days == 1 ? "" : "s")})"
            : $"empty range ({Day(s.From)})";

        /// <summary><c>monthly from 1 Dec</c>: the period and its first day in the budget's time zone; <c>lifetime</c>.</summary>
        public static string Period(BudgetAtRisk b)
        {
            if (b.Period == Gateway.Core.Budgets.BudgetPeriodKind.Lifetime) return "lifetime";
            var start = TimeZoneInfo.ConvertTime(b.PeriodStart, Gateway.Core.Budgets.BudgetPeriods.ResolveTimeZone(b.TimeZone));
            return $"{Name(b.Period)} from {start.ToString("d MMM", CultureInfo.InvariantCulture)}";
        }

        public static string Name<T>(T value) where T : struct, Enum => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()).Replace('_', ' ');
    }

    /// <summary>Draws top to bottom, starting a page when the next block does not fit.</summary>
    private sealed class Layout(PdfDocument document, ExecutiveSummary summary)
    {
        private const double Margin = 42;
        private const double FooterHeight = 24;
        private static readonly XFont Title = new(ReportFonts.Family, 17, XFontStyleEx.Bold);
        private static readonly XFont Heading = new(ReportFonts.Family, 11.5, XFontStyleEx.Bold);
        private static readonly XFont Body = new(ReportFonts.Family, 8.5, XFontStyleEx.Regular);
        private static readonly XFont BodyBold = new(ReportFonts.Family, 8.5, XFontStyleEx.Bold);
        private static readonly XFont Small = new(ReportFonts.Family, 7.5, XFontStyleEx.Regular);
        private static readonly XFont Figure = new(ReportFonts.Family, 15, XFontStyleEx.Bold);
        private static readonly XBrush Ink = new XSolidBrush(XColor.FromArgb(0x1F, 0x29, 0x33));
        private static readonly XBrush Muted = new XSolidBrush(XColor.FromArgb(0x6B, 0x72, 0x80));
        private static readonly XBrush Accent = new XSolidBrush(XColor.FromArgb(0x2F, 0x6D, 0xB5));
        private static readonly XBrush Panel = new XSolidBrush(XColor.FromArgb(0xF3, 0xF6, 0xFA));
        private static readonly XBrush Up = new XSolidBrush(XColor.FromArgb(0xB4, 0x23, 0x18));
        private static readonly XBrush Down = new XSolidBrush(XColor.FromArgb(0x1E, 0x7B, 0x34));
        private static readonly XPen Rule = new(XColor.FromArgb(0xD9, 0xDE, 0xE5), 0.6);

        private readonly List<(PdfPage Page, XGraphics Graphics)> _pages = [];
        private XGraphics _g = null!;
        private double _y;
        private double _width;
        private double _bottom;

        private XGraphics G
        {
            get
            {
                if (_pages.Count == 0) NewPage();
                return _g;
            }
        }

        private void NewPage()
        {
            var page = document.AddPage();
            page.Size = PdfSharp.PageSize.A4;
            _g = XGraphics.FromPdfPage(page);
            _pages.Add((page, _g));
            _width = page.Width.Point - 2 * Margin;
            _bottom = page.Height.Point - Margin - FooterHeight;
            _y = Margin;
        }

        /// <summary>Starts a page unless <paramref name="height"/> points still fit on this one.</summary>
        private void Room(double height)
        {
            _ = G;
            if (_y + height > _bottom) NewPage();
        }

        public void Header()
        {
            var g = G;
            g.DrawString("LLM spend: executive summary", Title, Ink, new XPoint(Margin, _y + 17));
            _y += 26;
            g.DrawString($"{(summary.Scope == "all" ? "All traffic" : summary.Scope)} · {Text.Range(summary)}", BodyBold, Ink, new XPoint(Margin, _y + 9));
            _y += 13;
            g.DrawString($"Generated {summary.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC · amounts in USD, exact sums of recorded costs",
                Small, Muted, new XPoint(Margin, _y + 8));
            _y += 14;
            g.DrawLine(Rule, Margin, _y, Margin + _width, _y);
            _y += 12;
        }

        public void Figures()
        {
            const double gap = 8;
            const double height = 64;
            Room(height);
            var trend = summary.Trend;
            var previous = summary.Days switch { 0 => "Vs the range before", 1 => "Vs the day before", var n => $"Vs the {n} days before" };
            var change = trend.ChangePct is { } pct ? Text.Pct(pct) : "n/a";
            var changeNote = trend.ChangePct is null
                ? "no spend before"
                : $"{Text.SignedUsd(trend.ChangeUsd)} (was {Text.Usd(trend.Previous.CostUsd)})";
            var f = summary.Forecast;
            var forecastLabel = f is null ? "Month-end forecast" : "Forecast for " + f.Month.ToString("MMM yyyy", CultureInfo.InvariantCulture);
            var forecastNote = f switch
            {
                null => "no spend to project",
                { Method: ForecastMethod.Complete } => "the month is complete",
                { LowerUsd: { } lo, UpperUsd: { } hi } => $"90%: {Text.WholeUsd(lo)}–{Text.WholeUsd(hi)}",
                _ => "too little history for an interval",
            };
            var s = summary.Savings;
            (string Label, string Value, string Note, XBrush Brush)[] boxes =
            [
                ("Spend", Text.Usd(summary.Spend.CostUsd), $"{Text.Count(summary.Spend.Requests)} requests", Ink),
                (previous, change, changeNote, trend.ChangePct switch { > 0 => Up, < 0 => Down, _ => Ink }),
                (forecastLabel, f is null ? "–" : Text.Usd(f.ProjectedUsd), forecastNote, Ink),
                ("Savings on the table", Text.Usd(s.TotalMonthlySavingUsd) + "/mo", $"{s.Recommendations} recommendation{(s.Recommendations == 1 ? "" : "s")}", Accent),
            ];
            var width = (_width - gap * (boxes.Length - 1)) / boxes.Length;
            for (var i = 0; i < boxes.Length; i++)
            {
                var x = Margin + i * (width + gap);
                var (label, value, note, brush) = boxes[i];
                G.DrawRectangle(Panel, x, _y, width, height);
                G.DrawString(Fit(label, Small, width - 12), Small, Muted, new XPoint(x + 6, _y + 13));
                G.DrawString(Fit(value, Figure, width - 12), Figure, brush, new XPoint(x + 6, _y + 35));
                G.DrawString(Fit(note, Small, width - 12), Small, Muted, new XPoint(x + 6, _y + 53));
            }

            _y += height + 16;
        }

        public void Chart()
        {
            const double height = 165;
            Section("Daily spend", height);
            if (summary.Daily.Count == 0)
            {
                G.DrawRectangle(Panel, Margin, _y, _width, 40);
                G.DrawString("No days in the range: nothing to chart.", Body, Muted, new XPoint(Margin + 8, _y + 23));
                _y += 40 + 16;
                return;
            }

            // two pixels a point: sharp when printed, a few hundred kilobytes at most
            var png = SpendChart.Png(summary, (int)Math.Round(_width * 2), (int)Math.Round(height * 2));
            using (var image = XImage.FromStream(new MemoryStream(png)))
                G.DrawImage(image, Margin, _y, _width, height);
            _y += height + 3;
            if (summary.Anomalies.Any(a => a.Kind == AnomalyKind.Spend))
            {
                G.DrawString("Orange: a day with a spend anomaly (below).", Small, Muted, new XPoint(Margin, _y + 8));
                _y += 11;
            }

            _y += 13;
        }

        public void TopConsumers()
        {
            var lists = summary.TopConsumers;
            var rows = Math.Max(1, lists.Count == 0 ? 0 : lists.Max(l => l.Entries.Count));
            var title = summary.Scope == "all" ? "Top consumers by cost" : $"Where {summary.Scope} stands among its peers, by cost";
            Section(title, 16 + rows * 12);
            if (lists.Count == 0) return;
            const double gap = 14;
            var width = (_width - gap * (lists.Count - 1)) / lists.Count;
            for (var i = 0; i < lists.Count; i++)
            {
                var x = Margin + i * (width + gap);
                var list = lists[i];
                var y = _y;
                var costs = list.Entries.Select(c => Text.Usd(c.CostUsd)).ToList();
                var shares = list.Entries.Select(c => c.SharePct.ToString("0.0", CultureInfo.InvariantCulture) + "%").ToList();
                var shareWidth = shares.Append("share").Max(t => G.MeasureString(t, Body).Width);
                var costWidth = costs.Append("cost").Max(t => G.MeasureString(t, BodyBold).Width);
                var costRight = x + width - shareWidth - 8;
                var nameWidth = costRight - costWidth - 8 - x;
                G.DrawString(Plural(list.Dimension), BodyBold, Ink, new XPoint(x, y + 9));
                DrawRight("cost", Small, Muted, costRight, y + 9);
                DrawRight("share", Small, Muted, x + width, y + 9);
                y += 13;
                G.DrawLine(Rule, x, y, x + width, y);
                y += 2;
                if (list.Entries.Count == 0) G.DrawString("None in the range.", Body, Muted, new XPoint(x, y + 9));
                for (var k = 0; k < list.Entries.Count; k++)
                {
                    var c = list.Entries[k];
                    var isScope = summary.Scope == list.Dimension + ":" + c.Value;
                    var font = isScope ? BodyBold : Body;
                    G.DrawString(Fit($"{c.Rank}. {c.Value}", font, nameWidth), font, Ink, new XPoint(x, y + 9));
                    DrawRight(costs[k], font, Ink, costRight, y + 9);
                    DrawRight(shares[k], font, Muted, x + width, y + 9);
                    y += 12;
                }
            }

            _y += 15 + rows * 12 + 14;
        }

        public void BudgetsAtRisk()
        {
            var budgets = summary.BudgetsAtRisk;
            var asOf = summary.LastDay is { } last ? $" at the end of {Text.Day(last)}" : "";
            Section($"Budgets at risk{asOf}", 30);
            if (budgets.Count == 0)
            {
                Note("No budget is at risk.");
                return;
            }

            var table = new Table(this, [("Budget", 0.23, false), ("Period", 0.19, false), ("Limit", 0.11, true), ("Spent", 0.11, true), ("Projected", 0.12, true),
                ("Risk", 0.1, false), ("Runs out on", 0.14, false)]);
            foreach (var b in budgets)
            {
                table.Row([b.Scope, Text.Period(b), Text.Usd(b.LimitUsd), Text.Usd(b.SpentUsd), Text.Usd(b.ProjectedUsd), Text.Name(b.Risk),
                    b.RunsOutOn is { } d ? Text.Day(d) : b.Risk == BudgetRisk.Exceeded ? "spent" : "–"]);
            }

            _y += 12;
        }

        public void Anomalies()
        {
            var anomalies = summary.Anomalies;
            Section(anomalies.Count == 0 ? "Anomalies" : $"Anomalies ({anomalies.Count})", 30);
            if (anomalies.Count == 0)
            {
                Note("No spend or error-rate spike in the range.");
                return;
            }

            var table = new Table(this, [("Day", 0.13, false), ("Severity", 0.1, false), ("What happened", 0.77, false)]);
            foreach (var a in anomalies.Take(MaxAnomalies))
                table.Row([Text.IsoDay(a.Date), Text.Name(a.Severity), a.Reason]);
            if (anomalies.Count > MaxAnomalies) Note($"And {anomalies.Count - MaxAnomalies} more: the JSON and CSV forms list every one.");
            _y += 12;
        }

        public void Savings()
        {
            var s = summary.Savings;
            Section("Savings", 40);
            var window = $"records of {Text.Day(DateOnly.FromDateTime(s.From.UtcDateTime))} to {Text.Day(DateOnly.FromDateTime(s.To.UtcDateTime).AddDays(-1))}";
            if (s.Recommendations == 0)
            {
                Note(summary.Days == 0 ? "Nothing to analyse in an empty range." : $"No recommendation in the {window}.");
                return;
            }

            Paragraph($"{Text.Usd(s.TotalMonthlySavingUsd)} a month on the table from {s.Recommendations} recommendation{(s.Recommendations == 1 ? "" : "s")} " +
                $"(the {window}, scaled to 30 days; recommendations may overlap, so acting on all saves less than their sum). The largest:");
            var table = new Table(this, [("Per month", 0.12, true), ("Kind", 0.21, false), ("Scope", 0.19, false), ("Recommendation", 0.48, false)]);
            foreach (var r in s.Top)
                table.Row([Text.Usd(r.EstimatedMonthlySavingUsd), $"{r.Kind.Replace('_', ' ')} ({r.Confidence})", r.Scope, r.Title]);
            _y += 12;
        }

        /// <summary>Numbers each page and closes its drawing.</summary>
        public void Finish()
        {
            _ = G;
            var footer = $"LLM gateway · executive summary · {Text.ScopeLabel(summary.Scope)} · {Text.Range(summary)}";
            for (var i = 0; i < _pages.Count; i++)
            {
                var (page, g) = _pages[i];
                var y = page.Height.Point - Margin + 6;
                g.DrawLine(Rule, Margin, y - 10, page.Width.Point - Margin, y - 10);
                g.DrawString(Fit(footer, Small, _width - 70), Small, Muted, new XPoint(Margin, y));
                var number = $"Page {i + 1} of {_pages.Count}";
                g.DrawString(number, Small, Muted, new XPoint(page.Width.Point - Margin - g.MeasureString(number, Small).Width, y));
                g.Dispose();
            }
        }

        private void Section(string title, double firstBlock)
        {
            Room(20 + firstBlock);
            G.DrawString(title, Heading, Ink, new XPoint(Margin, _y + 11));
            _y += 19;
        }

        private void Note(string text)
        {
            Room(14);
            G.DrawString(text, Body, Muted, new XPoint(Margin, _y + 9));
            _y += 14 + 12;
        }

        private void Paragraph(string text)
        {
            var lines = Wrap(text, Body, _width);
            Room(lines.Count * 11.5);
            foreach (var line in lines)
            {
                G.DrawString(line, Body, Ink, new XPoint(Margin, _y + 9));
                _y += 11.5;
            }

            _y += 5;
        }

        private void DrawRight(string text, XFont font, XBrush brush, double right, double baseline) =>
            G.DrawString(text, font, brush, new XPoint(right - G.MeasureString(text, font).Width, baseline));

        /// <summary>The text, cut with an ellipsis where it would pass <paramref name="width"/>.</summary>
        private string Fit(string text, XFont font, double width)
        {
            if (G.MeasureString(text, font).Width <= width) return text;
            var cut = text.Length;
            while (cut > 0 && G.MeasureString(text[..cut] + "…", font).Width > width) cut--;
            return text[..cut] + "…";
        }

        /// <summary>Lines of at most <paramref name="width"/>, broken between words (a word longer than a line is cut).</summary>
        private List<string> Wrap(string text, XFont font, double width)
        {
            var lines = new List<string>();
            var line = "";
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = line.Length == 0 ? word : line + " " + word;
                if (G.MeasureString(candidate, font).Width <= width)
                {
                    line = candidate;
                    continue;
                }

                if (line.Length > 0) lines.Add(line);
                line = G.MeasureString(word, font).Width <= width ? word : Fit(word, font, width);
            }

            if (line.Length > 0 || lines.Count == 0) lines.Add(line);
            return lines;
        }

        private static string Plural(string dimension) => dimension switch
        {
            "key" => "Keys",
            "team" => "Teams",
            "model" => "Models",
            "user" => "Users",
            "tag" => "Tags",
            "provider" => "Providers",
            "deployment" => "Deployments",
            "served_model" => "Served models",
            _ => Capitalised(dimension),
        };

        private static string Capitalised(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

        /// <summary>A table whose rows wrap their text cells; its header is drawn again on each page it reaches.</summary>
        private sealed class Table(Layout layout, (string Name, double Share, bool Right)[] columns)
        {
            private const double Line = 11;
            private bool _headed;
            private int _page = -1;

            public void Row(string[] cells)
            {
                var widths = columns.Select(c => c.Share * layout._width - 6).ToArray();
                var wrapped = cells.Select((c, i) => columns[i].Right ? [c] : layout.Wrap(c, Body, widths[i])).ToArray();
                var height = wrapped.Max(w => w.Count) * Line + 4;
                layout.Room(height + (_headed ? 0 : 16));
                if (!_headed || _page != layout._pages.Count) Header();
                var x = Margin;
                for (var i = 0; i < cells.Length; i++)
                {
                    var y = layout._y;
                    foreach (var line in wrapped[i])
                    {
                        if (columns[i].Right) layout.DrawRight(line, Body, Ink, x + widths[i], y + 9);
                        else layout.G.DrawString(line, Body, Ink, new XPoint(x, y + 9));
                        y += Line;
                    }

                    x += columns[i].Share * layout._width;
                }

                layout._y += height;
                layout.G.DrawLine(Rule, Margin, layout._y - 2, Margin + layout._width, layout._y - 2);
            }

            private void Header()
            {
                var x = Margin;
                foreach (var (name, share, right) in columns)
                {
                    if (right) layout.DrawRight(name, Small, Muted, x + share * layout._width - 6, layout._y + 8);
                    else layout.G.DrawString(name, Small, Muted, new XPoint(x, layout._y + 8));
                    x += share * layout._width;
                }

                layout._y += 12;
                layout.G.DrawLine(Rule, Margin, layout._y, Margin + layout._width, layout._y);
                layout._y += 2;
                _headed = true;
                _page = layout._pages.Count;
            }
        }
    }
}
