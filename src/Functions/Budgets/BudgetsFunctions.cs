using Gateway.Core.Audit;
using Gateway.Core.Budgets;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gateway.Functions.Budgets;

/// <summary>
/// The budget admin API (admin key): <c>PUT /gateway/budgets/{scope}</c> sets a budget, <c>GET /gateway/budgets</c>
/// lists them with their state, <c>GET /gateway/budgets/{scope}</c> shows one, <c>POST /gateway/budgets/{scope}/stop|resume|reset</c>
/// and <c>DELETE /gateway/budgets/{scope}</c>. Scopes: <c>key:…</c>, <c>user:…</c>, <c>team:…</c>, <c>tag:name=value</c>, <c>global</c>.
/// </summary>
/// <remarks>Listing and reading budgets also take a dashboard session (the dashboard reads them); changes take the admin key only.</remarks>
public sealed class BudgetsFunctions(GatewayRuntime runtime, BudgetAdministration budgets, Entities.DurableEntityChannel? durable = null,
    Core.Dashboard.DashboardSessions? dashboard = null)
{
    private void Attach(DurableTaskClient? client) => durable?.Attach(client);

    [Function("PutBudget")]
    public Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "gateway/budgets/{scope}")] HttpRequest request, string scope,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Budgets, request, async ct =>
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, 64 * 1024, ct).ConfigureAwait(false);
            var definition = BudgetAdministration.ParseDefinition(body, scope);
            return (StatusCodes.Status200OK, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.BudgetSet, "budget:" + definition.Scope,
                c => budgets.FindAsync(definition.Scope, c), c => budgets.ConfigureAsync(definition, c), after => after, ct, definition.Scope.ToString()).ConfigureAwait(false));
        });
    }

    [Function("ListBudgets")]
    public Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/budgets")] HttpRequest request,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Budgets, request, async ct => (StatusCodes.Status200OK, await budgets.ListAsync(ct).ConfigureAwait(false)), dashboard);
    }

    [Function("GetBudget")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/budgets/{scope}")] HttpRequest request, string scope,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Budgets, request, async ct =>
            (StatusCodes.Status200OK, await budgets.RunAsync(BudgetAdministration.ParseScope(scope), BudgetOp.Get, null, ct).ConfigureAwait(false)), dashboard);
    }

    [Function("DeleteBudget")]
    public Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/budgets/{scope}")] HttpRequest request, string scope,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Budgets, request, async ct =>
            (StatusCodes.Status200OK, await Audited(request, BudgetOp.Delete, BudgetAdministration.ParseScope(scope), null, ct).ConfigureAwait(false)));
    }

    [Function("BudgetAction")]
    public Task<IActionResult> Action([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "gateway/budgets/{scope}/{action}")] HttpRequest request, string scope, string action,
        [DurableClient] DurableTaskClient? client = null)
    {
        Attach(client);
        return AdminRequests.RunJsonAsync(runtime, GatewayFeature.Budgets, request, async ct =>
        {
            var op = action switch
            {
                "stop" => BudgetOp.Stop,
                "resume" => BudgetOp.Resume,
                "reset" => BudgetOp.Reset,
                _ => throw Core.Errors.Errors.NotFound($"Unknown budget action '{action}': use stop, resume or reset."),
            };
            var reason = request.Query["reason"].FirstOrDefault();
            return (StatusCodes.Status200OK, await Audited(request, op, BudgetAdministration.ParseScope(scope), reason, ct).ConfigureAwait(false));
        });
    }

    private Task<System.Text.Json.Nodes.JsonObject> Audited(HttpRequest request, BudgetOp op, BudgetScope scope, string? reason, CancellationToken cancellationToken) =>
        runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.BudgetCommand(op), "budget:" + scope,
            c => budgets.FindAsync(scope, c), c => budgets.RunAsync(scope, op, reason, c), after => after, cancellationToken, scope.ToString());
}
