using Gateway.Core.Audit;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Safety;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// The content-safety admin API, for the admin key: <c>GET /gateway/safety</c> shows the policies in force;
/// <c>PUT /gateway/safety</c> replaces them on every instance (400 listing every problem when invalid, and the policies
/// in force stay); <c>POST /gateway/safety/simulate</c> evaluates a policy on given text or messages without calling a model.
/// </summary>
public sealed class SafetyFunctions(GatewayRuntime runtime, SafetyAdministration safety)
{
    [Function("GetSafety")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/safety")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Safety, request, _ => Task.FromResult((StatusCodes.Status200OK, safety.Describe())));

    [Function("PutSafety")]
    public Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "gateway/safety")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Safety, request, async ct =>
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, SafetyAdministration.MaxDocumentBytes, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.SafetyReplaced, "safety",
                _ => Task.FromResult<JsonNode?>(safety.AuditView()), c => safety.ReplaceAsync(body, c), _ => safety.AuditView(), ct).ConfigureAwait(false));
        });

    [Function("SimulateSafety")]
    public Task<IActionResult> Simulate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "gateway/safety/simulate")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Safety, request, async ct =>
        {
            var bytes = await RequestBody.ReadAsync(request.Body, request.ContentLength, SafetySimulation.MaxBodyBytes, ct).ConfigureAwait(false);
            JsonObject body;
            try
            {
                body = JsonNode.Parse(bytes) as JsonObject ?? throw Gateway.Core.Errors.Errors.InvalidJson("the body must be a JSON object");
            }
            catch (JsonException ex)
            {
                throw Gateway.Core.Errors.Errors.InvalidJson(ex.Message.Split('.')[0]);
            }

            return (StatusCodes.Status200OK, safety.Simulate(body));
        });
}
