using Gateway.Core.Audit;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Routing;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gateway.Functions.Upstream;

/// <summary>
/// Emergency stops for models and providers (admin key): <c>PUT /gateway/stops/{model|provider}/{name}</c> with an
/// optional <c>{"reason","until"}</c>, <c>DELETE</c> the same to resume, <c>GET /gateway/stops</c> to list. Every instance
/// refuses within <c>Gateway:Upstream:StopsRefreshSeconds</c>.
/// </summary>
/// <remarks>The list also takes a dashboard session (the dashboard reads it); changes take the admin key only.</remarks>
public sealed class StopsFunctions(GatewayRuntime runtime, StopAdministration stops, Entities.DurableEntityChannel? durable = null,
    Core.Dashboard.DashboardSessions? dashboard = null)
{
    private void Attach(DurableTaskClient? client) => durable?.Attach(client);

    [Function("ListStops")]
    public Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/stops")] HttpRequest request,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.ProviderQuotas, request, async ct => (StatusCodes.Status200OK, await stops.ListAsync(ct).ConfigureAwait(false)), dashboard);
    }

    [Function("PutStop")]
    public Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "gateway/stops/{target}/{name}")] HttpRequest request, string target, string name,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.ProviderQuotas, request, async ct =>
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, 16 * 1024, ct).ConfigureAwait(false);
            var what = Uri.UnescapeDataString(name);
            return (StatusCodes.Status200OK, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.StopSet, $"{target}:{what}",
                async c => await stops.ListAsync(c).ConfigureAwait(false), c => stops.StopAsync(target, what, body, c), after => after, ct).ConfigureAwait(false));
        });
    }

    [Function("DeleteStop")]
    public Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/stops/{target}/{name}")] HttpRequest request, string target, string name,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.ProviderQuotas, request, async ct =>
            (StatusCodes.Status200OK, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.StopCleared, $"{target}:{Uri.UnescapeDataString(name)}",
                async c => await stops.ListAsync(c).ConfigureAwait(false), c => stops.ResumeAsync(target, Uri.UnescapeDataString(name), c), after => after, ct).ConfigureAwait(false)));
    }
}
