using System.Globalization;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>The terminal stage: picks a deployment and calls its provider, streaming or not.</summary>
public sealed class ProviderStage(DeploymentSelector selector, ProviderRegistry providers) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        var deployment = selector.Select(context.RequireModel());
        context.Deployment = deployment;
        context.ResponseHeaders[GatewayHeaders.Provider] = deployment.Provider.ToLowerInvariant();
        context.ResponseHeaders[GatewayHeaders.Deployment] = deployment.Name;
        var provider = providers.For(deployment);
        var call = new ProviderRequest(request, deployment, context.RequestId);
        var started = context.Time.GetTimestamp();
        try
        {
            if (request.Stream)
            {
                var stream = await provider.OpenStreamAsync(call, context.Aborted).ConfigureAwait(false);
                return new GatewayResult.Streaming(stream);
            }
            var completion = await provider.CompleteAsync(call, context.Aborted).ConfigureAwait(false);
            return new GatewayResult.Completion(completion.Body, completion.Usage);
        }
        finally
        {
            context.UpstreamLatency = context.Time.GetElapsedTime(started);
            context.ResponseHeaders[GatewayHeaders.UpstreamLatency] = ((long)context.UpstreamLatency.Value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
    }
}
