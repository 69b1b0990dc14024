using System.Globalization;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>
/// The terminal stage: picks a deployment and calls its provider, streaming or not. Deployments are tried in the
/// selector's order (priority, then weight); with an <see cref="UpstreamGate"/>, a stopped model or provider is refused
/// (403), and a deployment without upstream capacity for the caller's key is passed over for the next; when none has
/// any, the request waits up to <see cref="UpstreamOptions.MaxWaitSeconds"/> or is refused with 429 and Retry-After, so
/// the gateway never forwards into the provider's own 429.
/// </summary>
public sealed class ProviderStage(DeploymentSelector selector, ProviderRegistry providers, UpstreamGate? upstream = null, int defaultOutputTokens = 1000) : IGatewayStage
{
    private async ValueTask<DeploymentOptions> ChooseAsync(GatewayContext context)
    {
        var model = context.RequireModel();
        if (upstream is null) return selector.Select(model);
        var ordered = selector.Ordered(model);
        var modelStop = await upstream.StoppedAsync(StopTarget.Model, model.Name, context.Aborted).ConfigureAwait(false);
        if (modelStop is not null)
            throw new Errors.GatewayException(new Errors.GatewayError(403, $"The model '{model.Name}' is stopped: {modelStop.Reason}", "permission_error", "model", "model_stopped"));
        var open = new List<DeploymentOptions>(ordered.Count);
        StopEntry? providerStop = null;
        foreach (var d in ordered)
        {
            var stop = await upstream.StoppedAsync(StopTarget.Provider, d.Provider.ToLowerInvariant(), context.Aborted).ConfigureAwait(false);
            if (stop is null) open.Add(d);
            else providerStop = stop;
        }

        if (open.Count == 0)
            throw new Errors.GatewayException(new Errors.GatewayError(403, $"Every provider of '{model.Name}' is stopped: {providerStop!.Reason}", "permission_error", "model", "provider_stopped"));

        var request = context.RequireRequest();
        var tokens = (long)(context.CostEstimate?.PromptTokens ?? 0) + (request.MaxOutputTokens is { } max ? (long)max * Math.Max(1, request.N) : defaultOutputTokens);
        var key = context.RequirePrincipal().KeyId;
        var deadline = context.Time.GetTimestamp() + (long)(upstream.Options.MaxWaitSeconds * context.Time.TimestampFrequency);
        while (true)
        {
            var wait = TimeSpan.MaxValue;
            foreach (var d in open)
            {
                var admission = await upstream.AdmitAsync(d, key, tokens, context.Aborted).ConfigureAwait(false);
                if (admission.Allowed)
                {
                    context.OnCompleted(async () =>
                    {
                        var used = context.Usage?.TotalTokens ?? 0;
                        // small differences are not worth a round trip
                        if (d.TokensPerMinute is { } tpm && tokens - used > tpm / 100)
                            await upstream.RefundAsync(d, key, tokens - used, CancellationToken.None).ConfigureAwait(false);
                    });
                    return d;
                }

                if (admission.RetryAfter < wait) wait = admission.RetryAfter;
            }

            var left = TimeSpan.FromSeconds((deadline - context.Time.GetTimestamp()) / (double)context.Time.TimestampFrequency);
            if (wait > left)
            {
                var seconds = (int)Math.Ceiling(Math.Max(1, wait.TotalSeconds));
                throw new Errors.GatewayException(new Errors.GatewayError(429,
                    $"Every deployment of '{model.Name}' is at its provider quota for your key's share. Retry after the time given in Retry-After.",
                    "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = seconds });
            }

            await Task.Delay(wait, context.Time, context.Aborted).ConfigureAwait(false);
        }
    }

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        DeploymentOptions deployment;
        try
        {
            deployment = await ChooseAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or Errors.GatewayException))
        {
            throw Errors.Errors.DependencyUnavailable("its provider quotas and stops", "upstream_limits_unavailable", ex);
        }
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
