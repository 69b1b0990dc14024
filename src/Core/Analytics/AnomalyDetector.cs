using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Analytics;

/// <summary>
/// Spend and error-rate spikes against a robust baseline: the median and the median absolute deviation (MAD) of the
/// scope's previous days, which a few earlier spikes cannot drag up as a mean and standard deviation would. Only rises
/// are anomalies. Guards keep quiet scopes quiet: a minimum volume, a minimum multiple of (or rise over) the median,
/// and enough days of history.
/// </summary>
internal static class AnomalyDetector
{
    /// <summary>MAD × this estimates the standard deviation of normally distributed data.</summary>
    private const double MadToSigma = 1.4826;

    /// <summary>The spread never counts as less than this share of the median: a perfectly flat history does not make every wobble infinite.</summary>
    private const decimal SpendScaleFloorShare = 0.1m;

    /// <summary>An error-rate spread is never below one percentage point.</summary>
    private const double ErrorScaleFloor = 0.01;

    /// <summary>Baseline days with fewer requests say little about an error rate and are left out.</summary>
    private const long ErrorBaselineDayMinRequests = 10;

    public static IEnumerable<Anomaly> Detect(ScopeSeries series, DateOnly date, AnalyticsOptions options)
    {
        if (Spend(series, date, options) is { } spend) yield return spend;
        if (ErrorRate(series, date, options) is { } errors) yield return errors;
    }

    private static Anomaly? Spend(ScopeSeries series, DateOnly date, AnalyticsOptions options)
    {
        var today = series.Day(date);
        var observed = today.CostUsd;
        if (observed < options.SpendMinUsd || observed <= 0) return null;
        // days before the scope's first traffic are not part of its history; idle days after it are (as zeros)
        var from = date.AddDays(-options.BaselineDays);
        if (series.FirstDay is { } first && first > from) from = first;
        var baseline = new List<decimal>();
        var active = 0;
        for (var d = from; d < date; d = d.AddDays(1))
        {
            baseline.Add(series.Day(d).CostUsd);
            if (series.HasTraffic(d)) active++;
        }

        if (active < options.MinBaselineDays) return null;
        var median = Median(baseline);
        if (median <= 0) return null;
        var mad = Median([.. baseline.Select(v => Math.Abs(v - median))]);
        var ratio = (double)(observed / median);
        var scale = Math.Max(MadToSigma * (double)mad, (double)(SpendScaleFloorShare * median));
        var score = (double)(observed - median) / scale;
        if (ratio < options.SpendMinRatio || score < options.MinScore) return null;
        var severity = ratio >= 10 ? AnomalySeverity.High : ratio >= 5 ? AnomalySeverity.Medium : AnomalySeverity.Low;
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{AnalyticsScope.Label(series.Dimension, series.Value)} spent {Usd(observed)} on {date:yyyy-MM-dd}, {ratio:0.0}× its {baseline.Count}-day median of {Usd(median)}");
        return new Anomaly(Id(AnomalyKind.Spend, date, series), AnomalyKind.Spend, severity, series.Dimension, series.Value, date,
            observed, median, mad, baseline.Count, Math.Round(ratio, 2), Math.Round(score, 2), today.Requests, today.Errors, reason);
    }

    private static Anomaly? ErrorRate(ScopeSeries series, DateOnly date, AnalyticsOptions options)
    {
        var today = series.Day(date);
        if (today.Requests < options.ErrorMinRequests || today.Errors < options.ErrorMinErrors) return null;
        var rate = (double)today.Errors / today.Requests;
        var baseline = new List<double>();
        for (var d = date.AddDays(-options.BaselineDays); d < date; d = d.AddDays(1))
        {
            var day = series.Day(d);
            if (day.Requests >= ErrorBaselineDayMinRequests) baseline.Add((double)day.Errors / day.Requests);
        }

        if (baseline.Count < options.MinBaselineDays) return null;
        var median = Median(baseline);
        var mad = Median([.. baseline.Select(v => Math.Abs(v - median))]);
        var score = (rate - median) / Math.Max(MadToSigma * mad, ErrorScaleFloor);
        if (rate - median < options.ErrorMinRateIncrease || score < options.MinScore) return null;
        var rise = rate - median;
        var severity = rise >= 0.3 ? AnomalySeverity.High : rise >= 0.15 ? AnomalySeverity.Medium : AnomalySeverity.Low;
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{AnalyticsScope.Label(series.Dimension, series.Value)}: {rate * 100:0.0}% of {today.Requests:N0} requests failed on {date:yyyy-MM-dd}, against a {options.BaselineDays}-day median of {median * 100:0.0}%");
        return new Anomaly(Id(AnomalyKind.ErrorRate, date, series), AnomalyKind.ErrorRate, severity, series.Dimension, series.Value, date,
            Fraction(rate), Fraction(median), Fraction(mad), baseline.Count, median > 0 ? Math.Round(rate / median, 2) : null, Math.Round(score, 2),
            today.Requests, today.Errors, reason);
    }

    /// <summary><c>anomaly-spend-20261128-</c> and 16 hex digits of the scope's hash: stable, and safe in a header and a table key whatever the value holds.</summary>
    internal static string Id(AnomalyKind kind, DateOnly date, ScopeSeries series)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(series.Dimension + "\n" + series.Value));
        var name = kind == AnomalyKind.Spend ? "spend" : "error-rate";
        return string.Create(CultureInfo.InvariantCulture, $"anomaly-{name}-{date:yyyyMMdd}-{Convert.ToHexStringLower(hash)[..16]}");
    }

    internal static decimal Median(List<decimal> values)
    {
        values.Sort();
        var n = values.Count;
        return n == 0 ? 0 : n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    internal static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n == 0 ? 0 : n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    private static decimal Fraction(double value) => (decimal)Math.Round(value, 6);

    /// <summary>Whole dollars from $100, cents below: "$412", "$67.40".</summary>
    internal static string Usd(decimal value) =>
        "$" + (Math.Abs(value) >= 100 ? Math.Round(value, 0, MidpointRounding.AwayFromZero).ToString("#,0", CultureInfo.InvariantCulture) : value.ToString("#,0.00", CultureInfo.InvariantCulture));
}
