using Gateway.Core.Dashboard;
using Gateway.Core.Hosting;
using Gateway.Core.Usage;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// Spend and usage reports (from rollups) and raw exports (streamed), for the admin key:
/// <c>GET /gateway/reports/usage?from=…&amp;to=…&amp;group_by=team&amp;interval=day&amp;currency=EUR</c> and
/// <c>GET /gateway/reports/export?from=…&amp;to=…&amp;format=csv|json</c>.
/// </summary>
/// <remarks>The usage report also takes a dashboard session (the dashboard reads it).</remarks>
public sealed class ReportsFunction(GatewayRuntime runtime, UsageServices usage, ICurrencyRates currencies, DashboardSessions? dashboard = null)
{
    [Function("UsageReport")]
    public Task<IActionResult> Report([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/reports/usage")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var query = UsageReportQuery.Parse(n => request.Query[n].FirstOrDefault(), currencies.IsKnown);
            var report = await usage.Reports.QueryAsync(query, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, UsageReportService.ToJson(report, usd => currencies.Convert(usd, query.Currency)));
        }, dashboard);

    [Function("UsageExport")]
    public Task<IActionResult> Export([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/reports/export")] HttpRequest request) =>
        AdminRequests.RunStreamAsync(runtime, request, async ct =>
        {
            var export = UsageExportQuery.Parse(n => request.Query[n].FirstOrDefault());
            var response = request.HttpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = export.Format == "csv" ? "text/csv; charset=utf-8" : "application/json";
            response.Headers.ContentDisposition = $"attachment; filename=\"usage-{export.From:yyyyMMddHHmm}-{export.To:yyyyMMddHHmm}.{export.Format}\"";
            request.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var records = usage.Records.ReadRangeAsync(export.From, export.To, ct);
            if (export.Format == "csv") await UsageExport.WriteCsvAsync(records, response.Body, ct).ConfigureAwait(false);
            else await UsageExport.WriteJsonAsync(records, response.Body, ct).ConfigureAwait(false);
        });
}
