using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Core.Analytics;

/// <summary>An alert as it leaves the gateway: its deterministic id, its type and its JSON body (the webhook's body).</summary>
public sealed record AnalyticsAlert(string Id, string Type, string Json);

/// <summary>Receives analytics alerts for delivery (the budget alerts' queues and signed webhook).</summary>
public interface IAnalyticsAlertSink
{
    Task PublishAsync(IReadOnlyList<AnalyticsAlert> alerts, CancellationToken cancellationToken);
}

/// <summary>Remembers which alerts were sent, so a snapshot computed again does not alert again.</summary>
public interface IAlertLedger
{
    Task<bool> ContainsAsync(string id, CancellationToken cancellationToken);

    Task AddAsync(string id, CancellationToken cancellationToken);
}

/// <summary>
/// The alerts a snapshot raises: each anomaly at or above <see cref="AnalyticsOptions.AlertMinSeverity"/>
/// (<c>analytics.anomaly</c>, one per kind, scope and day), and each budget whose period is projected to overrun its
/// limit or has already reached it (<c>budget.forecast_overrun</c>, one per budget and period).
/// </summary>
public static class AnalyticsAlerts
{
    public const string AnomalyType = "analytics.anomaly";
    public const string ForecastOverrunType = "budget.forecast_overrun";

    public static IReadOnlyList<AnalyticsAlert> From(AnalyticsSnapshot snapshot, AnalyticsOptions options, DateTimeOffset raisedAt)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        var alerts = new List<AnalyticsAlert>();
        if (options.AlertAnomalies)
        {
            foreach (var a in snapshot.Anomalies.Where(a => a.Severity >= options.AlertMinSeverity))
            {
                alerts.Add(new AnalyticsAlert(a.Id, AnomalyType, new JsonObject
                {
                    ["type"] = AnomalyType,
                    ["id"] = a.Id,
                    ["kind"] = a.Kind == AnomalyKind.Spend ? "spend" : "error_rate",
                    ["severity"] = a.Severity.ToString().ToLowerInvariant(),
                    ["scope"] = new AnalyticsScope(a.Dimension, a.Value).ToString(),
                    ["dimension"] = a.Dimension,
                    ["value"] = a.Value,
                    ["date"] = Day(a.Date),
                    ["observed"] = a.Observed,
                    ["baseline_median"] = a.BaselineMedian,
                    ["baseline_days"] = a.BaselineDays,
                    ["ratio"] = a.Ratio,
                    ["score"] = a.Score,
                    ["requests"] = a.Requests,
                    ["errors"] = a.Errors,
                    ["reason"] = a.Reason,
                    ["raised_at"] = Instant(raisedAt),
                }.ToJsonString()));
            }
        }

        if (options.AlertForecastOverruns)
        {
            foreach (var b in snapshot.Budgets.Where(b => b.Risk is BudgetRisk.Likely or BudgetRisk.Exceeded))
            {
                var id = ForecastId(b);
                alerts.Add(new AnalyticsAlert(id, ForecastOverrunType, new JsonObject
                {
                    ["type"] = ForecastOverrunType,
                    ["id"] = id,
                    ["scope"] = b.Scope,
                    ["risk"] = b.Risk.ToString().ToLowerInvariant(),
                    ["limit_usd"] = b.LimitUsd,
                    ["spent_usd"] = b.SpentUsd,
                    ["projected_usd"] = b.ProjectedUsd,
                    ["lower_usd"] = b.LowerUsd,
                    ["upper_usd"] = b.UpperUsd,
                    ["daily_rate_usd"] = b.DailyRateUsd,
                    ["runs_out_at"] = b.RunsOutAt is { } r ? Instant(r) : null,
                    ["runs_out_on"] = b.RunsOutOn is { } d ? Day(d) : null,
                    ["period_start"] = Instant(b.PeriodStart),
                    ["period_end"] = b.PeriodEnd is { } e ? Instant(e) : null,
                    ["date"] = Day(snapshot.Date),
                    ["reason"] = Reason(b),
                    ["raised_at"] = Instant(raisedAt),
                }.ToJsonString()));
            }
        }

        return alerts;
    }

    /// <summary><c>budget-forecast-</c>, the period's start and 16 hex digits of the scope's hash: one alert per budget and period.</summary>
    internal static string ForecastId(BudgetForecast b)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(b.Scope)))[..16];
        return string.Create(CultureInfo.InvariantCulture, $"budget-forecast-{b.PeriodStart.UtcDateTime:yyyyMMddHHmm}-{hash}");
    }

    internal static string Reason(BudgetForecast b)
    {
        var limit = $"its {AnomalyDetector.Usd(b.LimitUsd)} {b.Period.ToString().ToLowerInvariant()} limit";
        if (b.Risk == BudgetRisk.Exceeded) return $"{b.Scope} has spent {AnomalyDetector.Usd(b.SpentUsd)} of {limit}";
        var by = Day(DateOnly.FromDateTime(b.HorizonEnd.UtcDateTime));
        var interval = b.LowerUsd is { } lo && b.UpperUsd is { } hi ? $" (90% interval {AnomalyDetector.Usd(lo)}–{AnomalyDetector.Usd(hi)})" : "";
        var runsOut = b.RunsOutOn is { } d ? $"; at {AnomalyDetector.Usd(b.DailyRateUsd)} a day it runs out on {Day(d)}" : "";
        return $"{b.Scope} is projected to spend {AnomalyDetector.Usd(b.ProjectedUsd)} by {by}{interval} against {limit}{runsOut}";
    }

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Instant(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
