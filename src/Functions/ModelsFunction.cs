using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// <c>GET /v1/models</c> (also <c>/v1/models/</c>) and <c>GET /v1/models/{id}</c>: the models the caller's key may use.
/// One function serves both: the host registers routes in function-name order, so a separate list route would be
/// shadowed by the catch-all <c>{*id}</c>, which also matches an empty id.
/// </summary>
public sealed class ModelsFunction(GatewayRuntime runtime)
{
    [Function("Models")]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{*id}")] HttpRequest request)
    {
        // the id is read from the path: an absent catch-all value is not reliably bound
        var path = request.Path.Value ?? "";
        var at = path.IndexOf("/models", StringComparison.OrdinalIgnoreCase);
        var id = at < 0 ? "" : Uri.UnescapeDataString(path[(at + "/models".Length)..].Trim('/'));
        return id.Length == 0 ? List(request) : Get(request, id);
    }

    public Task<IActionResult> List(HttpRequest request) =>
        Respond(request, principal => ModelListing.For(principal, runtime.Catalog, runtime.Time.GetUtcNow()));

    public Task<IActionResult> Get(HttpRequest request, string id) =>
        Respond(request, principal => ModelListing.One(principal, runtime.Catalog, id, runtime.Time.GetUtcNow()));

    private async Task<IActionResult> Respond(HttpRequest request, Func<Core.Auth.GatewayPrincipal, System.Text.Json.Nodes.JsonObject> body)
    {
        var response = request.HttpContext.Response;
        response.Headers[GatewayHeaders.RequestId] = GatewayHeaders.RequestIdFrom(request.Headers[GatewayHeaders.RequestId]);
        try
        {
            var key = AuthenticationStage.PresentedKey(new AspNetRequestHeaders(request.Headers)) ?? throw Errors.MissingKey();
            var principal = await runtime.KeyAuthenticator.AuthenticateAsync(key, request.HttpContext.RequestAborted).ConfigureAwait(false) ?? throw Errors.InvalidKey();
            await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, body(principal), request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AdminRequests.LogUnexpected(request, ex);
            await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }
        return new EmptyResult();
    }
}
