using System.Globalization;
using Gateway.Core.Analytics;
using Gateway.Core.Reports;

namespace Gateway.Reports;

/// <summary>
/// The summary's daily spend as a PNG (ScottPlot over SkiaSharp): a bar a day, days with a spend anomaly in the summary
/// marked in orange; a line for ranges longer than two months, where bars would be slivers.
/// </summary>
internal static class SpendChart
{
    private const int MaxBarDays = 62;
    private static readonly ScottPlot.Color Normal = ScottPlot.Color.FromHex("#2F6DB5");
    private static readonly ScottPlot.Color Marked = ScottPlot.Color.FromHex("#E07B00");

    /// <summary>The chart of a summary with at least one day, <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static byte[] Png(ExecutiveSummary summary, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Daily.Count == 0) throw new ArgumentException("An empty range has no chart.", nameof(summary));
        ReportFonts.Install();
        var plot = new ScottPlot.Plot();
        try
        {
            var marked = summary.Anomalies.Where(a => a.Kind == AnomalyKind.Spend).Select(a => a.Date).ToHashSet();
            var x = summary.Daily.Select(d => d.Date.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray();
            var y = summary.Daily.Select(d => (double)d.CostUsd).ToArray();
            if (summary.Daily.Count <= MaxBarDays)
            {
                var bars = plot.Add.Bars(x, y);
                foreach (var (bar, day) in bars.Bars.Zip(summary.Daily))
                {
                    bar.FillColor = marked.Contains(day.Date) ? Marked : Normal;
                    bar.LineWidth = 0;
                    bar.Size = 0.8;
                }
            }
            else
            {
                var line = plot.Add.ScatterLine(x, y);
                line.Color = Normal;
                line.LineWidth = 1.5f;
                var spikes = summary.Daily.Where(d => marked.Contains(d.Date)).ToList();
                if (spikes.Count > 0)
                {
                    var dots = plot.Add.ScatterPoints(spikes.Select(d => d.Date.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray(), spikes.Select(d => (double)d.CostUsd).ToArray());
                    dots.Color = Marked;
                    dots.MarkerSize = 6;
                }
            }

            var axis = plot.Axes.DateTimeTicksBottom();
            if (axis.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic ticks)
                ticks.LabelFormatter = d => d.ToString(summary.Days > 366 / 2 ? "MMM yyyy" : "MMM d", CultureInfo.InvariantCulture);
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => "$" + v.ToString(v >= 1000 ? "#,0" : "#,0.##", CultureInfo.InvariantCulture),
            };
            var half = summary.Daily.Count <= MaxBarDays ? 0.6 : 0.5;
            plot.Axes.SetLimitsX(x[0] - half, x[^1] + half);
            // spend from $0, so a day's bar or point reads against nothing spent
            var top = y.Max();
            plot.Axes.SetLimitsY(0, top > 0 ? top * 1.08 : 1);
            plot.Axes.Bottom.TickLabelStyle.FontSize = 16;
            plot.Axes.Left.TickLabelStyle.FontSize = 16;
            plot.Grid.MajorLineColor = ScottPlot.Color.FromHex("#E6E6E6");
            return plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        }
        finally
        {
            plot.Dispose();
        }
    }
}
