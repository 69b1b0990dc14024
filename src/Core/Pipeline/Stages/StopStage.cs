using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Routing;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>
/// Emergency stops before anything can answer: a stopped model is refused (403 <c>model_stopped</c>), and so is a model
/// every provider of which — its own deployments' and those of the fallbacks the key may use — is stopped (403
/// <c>provider_stopped</c>). It runs ahead of rate limits, budgets and the cache, so a cache hit or a caller sharing an
/// in-flight call is refused like any other; the provider stage still skips a stopped provider's deployments one by one.
/// The stop list is this instance's copy, refreshed in the background: no round trip.
/// </summary>
public sealed class StopStage(UpstreamGate upstream) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var model = context.RequireModel();
        if (await upstream.StoppedAsync(StopTarget.Model, model.Name, context.Aborted).ConfigureAwait(false) is { } modelStop)
            throw ModelStopped(model.Name, modelStop);

        StopEntry? providerStop = null;
        foreach (var m in context.ServingModels())
        {
            if (m != model && await upstream.StoppedAsync(StopTarget.Model, m.Name, context.Aborted).ConfigureAwait(false) is not null) continue;
            foreach (var d in m.Deployments)
            {
                var stop = await upstream.StoppedAsync(StopTarget.Provider, d.Provider.ToLowerInvariant(), context.Aborted).ConfigureAwait(false);
                if (stop is null) return await next(context).ConfigureAwait(false);
                providerStop = stop;
            }
        }

        throw ProviderStopped(model.Name, providerStop);
    }

    public static GatewayException ModelStopped(string model, StopEntry stop) =>
        new(new GatewayError(403, $"The model '{model}' is stopped: {stop.Reason}", "permission_error", "model", "model_stopped"));

    public static GatewayException ProviderStopped(string model, StopEntry? stop) =>
        new(new GatewayError(403, $"Every provider of '{model}' is stopped: {stop?.Reason}", "permission_error", "model", "provider_stopped"));
}
