using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the models the caller's key may use.</summary>
public sealed class ModelsFunction(GatewayRuntime runtime)
{
    [Function("ListModels")]
    public Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest request) =>
        Respond(request, principal => ModelListing.For(principal, runtime.Catalog, runtime.Time.GetUtcNow()));

    [Function("GetModel")]
    public Task<IActionResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{*id}")] HttpRequest request, string id) =>
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
            await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }
        return new EmptyResult();
    }
}
