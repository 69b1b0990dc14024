using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// The model catalog admin API, for the admin key: <c>GET /gateway/catalog</c> shows the catalog in force with its
/// version (also the <c>ETag</c> header) and where it came from; <c>PUT /gateway/catalog</c> replaces it on every instance
/// (validated first: 400 listing every problem, and the catalog in force stays); <c>DELETE /gateway/catalog</c> goes back
/// to the configured catalog. Both changes take <c>If-Match</c> (428 without it, 412 when the catalog changed since it
/// was read) and go to the audit log.
/// </summary>
public sealed class CatalogFunctions(GatewayRuntime runtime, CatalogAdministration catalog)
{
    [Function("GetCatalog")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/catalog")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, _ => Task.FromResult((StatusCodes.Status200OK, Tagged(request, catalog.Describe()))));

    [Function("PutCatalog")]
    public Task<IActionResult> Put([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "gateway/catalog")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var ifMatch = request.Headers.IfMatch.ToString();
            // the precondition is checked before the body is read: a change without one is refused whatever it holds
            _ = CatalogAdministration.Condition(ifMatch);
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, ModelCatalogHolder.MaxDocumentBytes, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, Tagged(request, await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.CatalogReplaced, "catalog",
                _ => Task.FromResult<JsonNode?>(catalog.AuditView()), c => catalog.ReplaceAsync(body, ifMatch, c), _ => catalog.AuditView(), ct).ConfigureAwait(false)));
        });

    [Function("DeleteCatalog")]
    public Task<IActionResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/catalog")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var before = catalog.AuditView();
            var result = await catalog.RevertAsync(request.Headers.IfMatch.ToString(), ct).ConfigureAwait(false);
            // going back while the configured catalog is in force changes nothing, and is not recorded
            if ((string?)before["source"] != "configuration")
                runtime.AdminAudit.Record(AdminRequests.Actor(request), AuditEventTypes.CatalogReverted, "catalog", before, catalog.AuditView());
            return (StatusCodes.Status200OK, Tagged(request, result));
        });

    /// <summary>Puts the version shown in the body in the ETag header too.</summary>
    private static JsonObject Tagged(HttpRequest request, JsonObject body)
    {
        if ((string?)body["etag"] is { } etag) request.HttpContext.Response.Headers.ETag = etag;
        return body;
    }
}
