using System.Text.Json.Nodes;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Gateway.Functions.Http;

/// <summary>Admin endpoints: a request id, the admin key check, and OpenAI-shaped errors for everything.</summary>
public static class AdminRequests
{
    public static void Authorize(GatewayRuntime runtime, HttpRequest request)
    {
        var response = request.HttpContext.Response;
        response.Headers[GatewayHeaders.RequestId] = GatewayHeaders.RequestIdFrom(request.Headers[GatewayHeaders.RequestId]);
        var headers = new AspNetRequestHeaders(request.Headers);
        runtime.Admin.Demand(headers.Get("x-admin-key") ?? AuthenticationStage.PresentedKey(headers));
    }

    public static async Task<IActionResult> RunJsonAsync(GatewayRuntime runtime, HttpRequest request, Func<CancellationToken, Task<(int Status, JsonObject Body)>> action)
    {
        var response = request.HttpContext.Response;
        try
        {
            Authorize(runtime, request);
            var (status, body) = await action(request.HttpContext.RequestAborted).ConfigureAwait(false);
            await HttpResponses.WriteJsonAsync(response, status, body, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }

        return new EmptyResult();
    }

    /// <summary>Runs an admin action that writes its own response (streamed exports).</summary>
    public static async Task<IActionResult> RunStreamAsync(GatewayRuntime runtime, HttpRequest request, Func<CancellationToken, Task> action)
    {
        var response = request.HttpContext.Response;
        try
        {
            Authorize(runtime, request);
            await action(request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Before the first byte this is a normal error; after it, the export is cut short (the client sees a
            // truncated body and a reset connection rather than a silently partial file).
            if (response.HasStarted) request.HttpContext.Abort();
            else await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }

        return new EmptyResult();
    }
}
