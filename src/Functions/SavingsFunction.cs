using Gateway.Core.Dashboard;
using Gateway.Core.Hosting;
using Gateway.Core.Savings;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// Savings recommendations over a range of raw usage records, for the admin key:
/// <c>GET /gateway/savings?from=…&amp;to=…</c> (see <see cref="SavingsEngine"/>), priced with the catalog in force.
/// </summary>
/// <remarks>The route also takes a dashboard session (the dashboard reads it).</remarks>
public sealed class SavingsFunction(GatewayRuntime runtime, UsageServices usage, DashboardSessions? dashboard = null)
{
    [Function("SavingsReport")]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/savings")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var options = runtime.Options.Savings;
            var query = SavingsQuery.Parse(n => request.Query[n].FirstOrDefault(), options);
            var engine = new SavingsEngine(runtime.Prices.Current, runtime.Catalog, options);
            var records = usage.Records.ReadRangeAsync(query.From, query.To, ct);
            var report = await engine.AnalyzeAsync(records, query.From, query.To, runtime.Time.GetUtcNow(), ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, report.ToJson());
        }, dashboard);
}
