using Gateway.Core.Hosting;
using Gateway.Core.Health;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gateway.Functions;

/// <summary>
/// <c>GET /health</c> (liveness: the worker answers; nothing else is touched) and <c>GET /health/ready</c> (readiness:
/// storage and Durable answer, and each deployment's circuit as this instance knows it). Anonymous — load balancers and
/// azd probe them — so they show check names, statuses, durations and short details, never an account, address or key.
/// </summary>
/// <remarks>Readiness also lists the feature flags in force (<c>"features": {"Cache": true, …}</c>), as read at startup.</remarks>
public sealed class HealthFunctions(ReadinessProbe probe, Entities.DurableEntityChannel? entities = null, GatewayFeatures? features = null)
{
    [Function("Health")]
    public static async Task<IActionResult> Live([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request)
    {
        var response = request.HttpContext.Response;
        response.Headers.CacheControl = "no-store";
        await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, HealthJson.Liveness(), request.HttpContext.RequestAborted).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function("HealthReady")]
    public async Task<IActionResult> Ready([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/ready")] HttpRequest request,
        [DurableClient] DurableTaskClient? durable = null)
    {
        // the Durable check reads an entity through the client the host binds here
        entities?.Attach(durable);
        var aborted = request.HttpContext.RequestAborted;
        var response = request.HttpContext.Response;
        try
        {
            var report = await probe.ReportAsync(aborted).ConfigureAwait(false);
            response.Headers.CacheControl = "no-store";
            var json = report.ToJson();
            json["features"] = (features ?? GatewayFeatures.All).ToJson();
            await HttpResponses.WriteJsonAsync(response, report.HttpStatus, json, aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // the prober gave up; the shared run goes on for the next one
        }

        return new EmptyResult();
    }
}
