using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pricing;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// The pricing catalog admin API, for the admin key: <c>GET /gateway/pricing</c> shows the catalog in force,
/// <c>PUT /gateway/pricing</c> replaces it for every instance (validated first; an invalid catalog is refused with 400
/// naming each problem, and the one in force stays).
/// </summary>
public sealed class PricingFunctions(GatewayRuntime runtime, PricingAdministration pricing)
{
    [Function("GetPricing")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/pricing")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, _ => Task.FromResult((StatusCodes.Status200OK, pricing.Describe())));

    [Function("PutPricing")]
    public Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "gateway/pricing")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, PricingAdministration.MaxCatalogBytes, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.PricingReplaced, "pricing",
                _ => Task.FromResult<JsonNode?>(pricing.AuditView()), c => pricing.ReplaceAsync(body, c), _ => pricing.AuditView(), ct).ConfigureAwait(false));
        });
}
