using Gateway.Core.Analytics;
using Gateway.Core.Dashboard;
using Gateway.Core.Hosting;
using Gateway.Functions.Entities;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>
/// Spend analytics: the daily snapshot timer (trends, forecasts, budgets, anomalies, rankings of yesterday; stored, and
/// its alerts sent once) and <c>GET /gateway/analytics?date=…&amp;scope=…&amp;refresh=…</c> (admin key), which answers the
/// stored snapshot and computes one when missing. Both read the budgets' entities, so both bind the Durable client.
/// </summary>
/// <remarks>The route also takes a dashboard session (the dashboard reads it).</remarks>
public sealed partial class AnalyticsFunctions(GatewayRuntime runtime, AnalyticsSnapshotService analytics, TimeProvider time, ILogger<AnalyticsFunctions> logger,
    DurableEntityChannel? durable = null, DashboardSessions? dashboard = null)
{
    /// <summary>The app setting holding the snapshot timer's schedule (NCRONTAB; <c>0 30 0 * * *</c> in the templates: after the rollup that follows midnight).</summary>
    public const string ScheduleSetting = "GATEWAY_ANALYTICS_SCHEDULE";

    [Function("AnalyticsSnapshot")]
    public async Task Snapshot([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        _ = timer;
        // analytics off: no snapshot, no alert (the route says so; this timer has no one to answer)
        if (!runtime.Features.Analytics)
        {
            Log.Disabled(logger);
            return;
        }

        durable?.Attach(client);
        var result = await analytics.RunDailyAsync(cancellationToken).ConfigureAwait(false);
        Log.Snapshot(logger, result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), result.Scopes, result.Anomalies, result.BudgetsAtRisk,
            result.AlertsSent, result.AlertsAlreadySent);
    }

    [Function("Analytics")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/analytics")] HttpRequest request,
        [DurableClient] DurableTaskClient? client = null)
    {
        durable?.Attach(client);
        // a dashboard session reads; computing and storing the snapshot again (refresh) takes the admin key
        var sessions = request.Query.TryGetValue("refresh", out var refresh) && refresh.ToString() != "false" ? null : dashboard;
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Analytics, request, async ct =>
        {
            var query = AnalyticsQuery.Parse(n => request.Query[n].FirstOrDefault(), time.GetUtcNow());
            var snapshot = await analytics.GetAsync(query, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, AnalyticsJson.ToJson(snapshot));
        }, sessions);
    }

    private static partial class Log
    {
        [LoggerMessage(3302, LogLevel.Debug, "Analytics snapshot skipped: the Analytics feature flag is off.")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(3301, LogLevel.Information, "Analytics snapshot of {Date}: {Scopes} scopes, {Anomalies} anomalies, {AtRisk} budgets at risk; {Sent} alerts sent, {AlreadySent} sent before.")]
        public static partial void Snapshot(ILogger logger, string date, int scopes, int anomalies, int atRisk, int sent, int alreadySent);
    }
}
