using System.Globalization;

namespace Gateway.Core.Analytics;

/// <summary>
/// The analytics engine's parameters (<c>Gateway:Analytics:…</c>): anomaly baselines and guards, the forecast window,
/// top-N sizes and where snapshots are kept. The defaults suit a gateway spending tens to thousands of dollars a day.
/// </summary>
public sealed class AnalyticsOptions
{
    /// <summary>Days before the snapshot date that form an anomaly baseline.</summary>
    public int BaselineDays { get; set; } = 14;

    /// <summary>A scope is judged only with at least this many days of traffic in its baseline (new scopes have no "normal" yet).</summary>
    public int MinBaselineDays { get; set; } = 7;

    /// <summary>A day's spend below this is never a spike, however many times its median (the volume guard).</summary>
    public decimal SpendMinUsd { get; set; } = 10m;

    /// <summary>A spend spike is at least this many times the baseline median.</summary>
    public double SpendMinRatio { get; set; } = 3;

    /// <summary>A spike is at least this many robust standard deviations (1.4826 × MAD) above the baseline median.</summary>
    public double MinScore { get; set; } = 5;

    /// <summary>An error-rate spike needs at least this many requests that day (the volume guard).</summary>
    public long ErrorMinRequests { get; set; } = 50;

    /// <summary>An error-rate spike needs at least this many failed requests that day.</summary>
    public long ErrorMinErrors { get; set; } = 10;

    /// <summary>An error-rate spike is at least this much above the baseline median rate (0.05 = 5 percentage points).</summary>
    public double ErrorMinRateIncrease { get; set; } = 0.05;

    /// <summary>The forecast fits the last this many days (fewer for a scope that is younger).</summary>
    public int ForecastWindowDays { get; set; } = 14;

    /// <summary>Entries per top-N list.</summary>
    public int TopN { get; set; } = 10;

    /// <summary>The latency and error-rate rankings leave out scopes with fewer requests than this.</summary>
    public long TopMinRequests { get; set; } = 20;

    /// <summary>Trends and forecasts are kept for at most this many scopes per dimension (by month-to-date cost) in a stored snapshot.</summary>
    public int MaxScopesPerDimension { get; set; } = 50;

    /// <summary>Anomalies below this severity are in the snapshot but not alerted.</summary>
    public AnomalySeverity AlertMinSeverity { get; set; } = AnomalySeverity.Low;

    /// <summary>Whether the daily snapshot sends anomaly alerts.</summary>
    public bool AlertAnomalies { get; set; } = true;

    /// <summary>Whether the daily snapshot sends an alert for a budget forecast to overrun its limit.</summary>
    public bool AlertForecastOverruns { get; set; } = true;

    /// <summary>The blob container holding snapshots (<c>snapshots/yyyy-MM-dd.json</c>).</summary>
    public string SnapshotContainer { get; set; } = "gateway-analytics";

    /// <summary>Every problem, each with its setting path (empty when usable).</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = "Gateway:Analytics:";
        var errors = new List<string>();
        void Check(bool ok, string name, string rule, object value)
        {
            if (!ok) errors.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}{name} must be {rule} (was {value})."));
        }

        Check(BaselineDays is >= 3 and <= 90, nameof(BaselineDays), "between 3 and 90", BaselineDays);
        Check(MinBaselineDays >= 1 && MinBaselineDays <= BaselineDays, nameof(MinBaselineDays), "between 1 and BaselineDays", MinBaselineDays);
        Check(SpendMinUsd >= 0, nameof(SpendMinUsd), "at least 0", SpendMinUsd);
        Check(SpendMinRatio > 1 && double.IsFinite(SpendMinRatio), nameof(SpendMinRatio), "above 1", SpendMinRatio);
        Check(MinScore > 0 && double.IsFinite(MinScore), nameof(MinScore), "above 0", MinScore);
        Check(ErrorMinRequests >= 1, nameof(ErrorMinRequests), "at least 1", ErrorMinRequests);
        Check(ErrorMinErrors >= 1, nameof(ErrorMinErrors), "at least 1", ErrorMinErrors);
        Check(ErrorMinRateIncrease is > 0 and < 1, nameof(ErrorMinRateIncrease), "between 0 and 1", ErrorMinRateIncrease);
        Check(ForecastWindowDays is >= 3 and <= 90, nameof(ForecastWindowDays), "between 3 and 90", ForecastWindowDays);
        Check(TopN is >= 1 and <= 100, nameof(TopN), "between 1 and 100", TopN);
        Check(TopMinRequests >= 1, nameof(TopMinRequests), "at least 1", TopMinRequests);
        Check(MaxScopesPerDimension is >= 1 and <= 10_000, nameof(MaxScopesPerDimension), "between 1 and 10000", MaxScopesPerDimension);
        Check(Enum.IsDefined(AlertMinSeverity), nameof(AlertMinSeverity), "low, medium or high", AlertMinSeverity);
        Check(!string.IsNullOrWhiteSpace(SnapshotContainer), nameof(SnapshotContainer), "a blob container name", SnapshotContainer);
        return errors;
    }
}
