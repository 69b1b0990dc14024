namespace Gateway.Core.Analytics;

/// <summary>What spiked.</summary>
public enum AnomalyKind
{
    /// <summary>A day's spend (USD).</summary>
    Spend,
    /// <summary>A day's share of failed requests.</summary>
    ErrorRate,
}

/// <summary>How far out a spike is: for spend by its ratio to the median (low under 5×, medium under 10×, high from 10×);
/// for error rates by the rise over the median (low under 15 points, medium under 30, high from 30).</summary>
public enum AnomalySeverity
{
    Low,
    Medium,
    High,
}

/// <summary>
/// One scope's spike on the snapshot date against its baseline (the <see cref="BaselineDays"/> days before it).
/// <see cref="Observed"/>, <see cref="BaselineMedian"/> and <see cref="BaselineMad"/> are USD for spend and fractions
/// (0.23 = 23 %) for error rates; <see cref="Ratio"/> is observed ÷ median (null when the median is 0);
/// <see cref="Score"/> is (observed − median) ÷ (1.4826 × MAD), the scale floored as the README says.
/// <see cref="Id"/> is deterministic (kind, date, scope), so an alert raised from it is recognised when raised again.
/// </summary>
public sealed record Anomaly(
    string Id,
    AnomalyKind Kind,
    AnomalySeverity Severity,
    string Dimension,
    string Value,
    DateOnly Date,
    decimal Observed,
    decimal BaselineMedian,
    decimal BaselineMad,
    int BaselineDays,
    double? Ratio,
    double Score,
    long Requests,
    long Errors,
    string Reason);
