using System.Globalization;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;
using Polly.CircuitBreaker;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>
/// The terminal stage: calls a deployment's provider, streaming or not, resiliently.
/// <list type="bullet">
/// <item>Candidates: the model's deployments in the selector's order (priority, then weight), then each fallback
/// model's, all from the catalog the request started with (<see cref="GatewayContext.Catalog"/>). A stopped model is refused (403 <c>model_stopped</c>); a stopped provider's deployments are skipped.</item>
/// <item>A candidate is passed over while its circuit breaker is open, or when the caller's key has no room in its
/// provider quota (<see cref="UpstreamGate"/>); when no candidate has room the request waits up to
/// <see cref="UpstreamOptions.MaxWaitSeconds"/> or gets 429 with Retry-After — the gateway never forwards into the
/// provider's own 429.</item>
/// <item>Timeouts per deployment: connect (<see cref="DeploymentOptions.ConnectTimeoutSeconds"/>), first token for streams
/// (<see cref="DeploymentOptions.FirstTokenTimeoutSeconds"/>: the first chunk is read before the stream is handed on, so a
/// slow start is still safe to retry) and the whole request (<see cref="DeploymentOptions.TimeoutSeconds"/>).</item>
/// <item>Failures safe to retry (429, 5xx, timeouts, resets; for streams only while opening, before any byte reached the
/// client) move the request to the next healthy candidate at once, or — with none left — retry after the provider's
/// Retry-After (when at most <see cref="ResilienceOptions.MaxRetryAfterSeconds"/>) or exponential backoff with full
/// jitter. At most <see cref="ResilienceOptions.MaxAttempts"/> calls per request; the count is in
/// <c>x-gateway-attempts</c> and the usage record.</item>
/// </list>
/// </summary>
public sealed class ProviderStage(
    DeploymentSelector selector, ProviderRegistry providers, UpstreamGate? upstream = null, int defaultOutputTokens = 1000,
    DeploymentBreakers? breakers = null, ResilienceOptions? resilience = null) : IGatewayStage
{
    public const string AttemptsHeader = "x-gateway-attempts";
    public const string FallbackHeader = "x-gateway-fallback-model";
    /// <summary>Every upstream call of the request in order: <c>deployment status[ code]</c>, separated by <c>; </c>.</summary>
    public const string AttemptLogHeader = "x-gateway-attempt-log";
    private readonly ResilienceOptions _resilience = resilience ?? new ResilienceOptions();

    private sealed record Candidate(DeploymentOptions Deployment, string Model);

    private async ValueTask<List<Candidate>> CandidatesAsync(GatewayContext context)
    {
        var model = context.RequireModel();
        // the catalog the request started with: a deployment removed since still serves it
        var models = context.ServingModels();

        var candidates = new List<Candidate>();
        StopEntry? providerStop = null;
        foreach (var m in models)
        {
            if (upstream is not null && await upstream.StoppedAsync(StopTarget.Model, m.Name, context.Aborted).ConfigureAwait(false) is { } modelStop)
            {
                if (m == model) throw StopStage.ModelStopped(m.Name, modelStop);
                continue;
            }

            foreach (var d in selector.Ordered(m))
            {
                var stop = upstream is null ? null : await upstream.StoppedAsync(StopTarget.Provider, d.Provider.ToLowerInvariant(), context.Aborted).ConfigureAwait(false);
                if (stop is null) candidates.Add(new Candidate(d, m.Name));
                else providerStop = stop;
            }
        }

        if (candidates.Count == 0)
            throw StopStage.ProviderStopped(model.Name, providerStop);
        return candidates;
    }

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        List<Candidate> candidates;
        try
        {
            candidates = await CandidatesAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or GatewayException))
        {
            throw Errors.Errors.DependencyUnavailable("its provider stops", "upstream_limits_unavailable", ex);
        }

        var tokens = context.UpFrontTokens(defaultOutputTokens);
        var key = context.RequirePrincipal().KeyId;
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var open = new HashSet<string>(StringComparer.Ordinal);
        // waiting for quota room ends with MaxWaitSeconds or the admission window, whichever comes first
        var deadline = context.Time.GetTimestamp() + (long)(Math.Min(upstream?.Options.MaxWaitSeconds ?? 0, context.AdmissionTimeLeft.TotalSeconds) * context.Time.TimestampFrequency);
        GatewayException? last = null;
        var attempts = 0;
        var log = new List<string>(2);
        try
        {
            while (attempts < Math.Max(1, _resilience.MaxAttempts))
            {
                // the first candidate not failed in this request, not behind an open breaker, with room for this key
                Candidate? chosen = null;
                var capacityWait = TimeSpan.MaxValue;
                var undecided = false;
                // An open breaker refuses at once without calling upstream (BrokenCircuitException, not an attempt); once
                // its break has passed it lets one probe through, so deployments behind one are not filtered out here.
                var healthy = candidates.Where(c => !failed.Contains(c.Deployment.Name)).ToList();
                if (healthy.Count == 0 && last is not null) healthy = [.. candidates.Where(c => !open.Contains(c.Deployment.Name))];
                if (healthy.Count == 0) break;
                foreach (var c in healthy)
                {
                    var admission = upstream is null ? UpstreamAdmission.Yes : await Admit(upstream, c.Deployment, key, tokens, context).ConfigureAwait(false);
                    if (admission.Allowed)
                    {
                        chosen = c;
                        break;
                    }

                    undecided |= admission.Undecided;
                    if (admission.RetryAfter < capacityWait) capacityWait = admission.RetryAfter;
                }

                if (chosen is null)
                {
                    var left = TimeSpan.FromSeconds((deadline - context.Time.GetTimestamp()) / (double)context.Time.TimestampFrequency);
                    if (capacityWait > left)
                    {
                        if (last is not null) break;
                        if (undecided) throw Errors.Errors.AdmissionUndecided($"the provider quota of '{context.RequireModel().Name}'");
                        throw new GatewayException(new GatewayError(429,
                            $"Every deployment of '{context.RequireModel().Name}' is at its provider quota for your key's share. Retry after the time given in Retry-After.",
                            "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = (int)Math.Ceiling(Math.Max(1, capacityWait.TotalSeconds)) });
                    }

                    await Task.Delay(capacityWait, context.Time, context.Aborted).ConfigureAwait(false);
                    continue;
                }

                attempts++;
                try
                {
                    var result = await CallAsync(context, chosen, tokens, key).ConfigureAwait(false);
                    log.Add(chosen.Deployment.Name + " 200");
                    return result is GatewayResult.Streaming streaming && _resilience.MaxStreamRecoveries > 0 && StreamContinuation.Unrecoverable(context.RequireRequest()) is null
                        ? new GatewayResult.Streaming(new RecoveringStream(streaming.Stream, chosen.Deployment, context, _resilience.MaxStreamRecoveries,
                            (delivered, tokens, broken, ct) => ReopenAsync(context, candidates, delivered, tokens, broken, ct)))
                        : result;
                }
                catch (BrokenCircuitException)
                {
                    // the breaker is open: nothing was sent, so it is not an attempt
                    attempts--;
                    log.Add(chosen.Deployment.Name + " circuit_open");
                    failed.Add(chosen.Deployment.Name);
                    open.Add(chosen.Deployment.Name);
                }
                catch (OperationCanceledException) when (context.Aborted.IsCancellationRequested)
                {
                    // the client left while the call was in flight: the provider may well have answered and billed it
                    log.Add(chosen.Deployment.Name + " 499 client_closed_request");
                    context.NoteBilledFailure(chosen.Deployment);
                    throw;
                }
                catch (GatewayException ex) when (RetryableFailures.IsRetryable(ex) && !context.Aborted.IsCancellationRequested)
                {
                    NoteIfBilled(context, chosen.Deployment, ex);
                    log.Add(Logged(chosen, ex));
                    last = ex;
                    failed.Add(chosen.Deployment.Name);
                    if (attempts >= _resilience.MaxAttempts) break;
                    var others = candidates.Any(c => !failed.Contains(c.Deployment.Name));
                    if (others) continue; // fail over at once
                    var delay = Backoff(attempts, ex.Error.RetryAfterSeconds);
                    if (delay is null) break;
                    await Task.Delay(delay.Value, context.Time, context.Aborted).ConfigureAwait(false);
                }
                catch (GatewayException ex)
                {
                    NoteIfBilled(context, chosen.Deployment, ex);
                    log.Add(Logged(chosen, ex));
                    throw;
                }
            }

            throw last ?? new GatewayException(new GatewayError(503,
                $"No deployment of '{context.RequireModel().Name}' is available: every one is failing (circuit open). Retry shortly.", "api_error", null, "no_healthy_deployment")
            { RetryAfterSeconds = (int)Math.Ceiling(Math.Max(1, _resilience.BreakSeconds)) });
        }
        finally
        {
            context.Attempts = attempts;
            context.ResponseHeaders[AttemptsHeader] = attempts.ToString(CultureInfo.InvariantCulture);
            if (log.Count > 0) context.ResponseHeaders[AttemptLogHeader] = context.AttemptLog = string.Join("; ", log);
        }
    }

    /// <summary>Opens a stream on the call's deployment through its breaker, within its first-token timeout.</summary>
    private async Task<IChatStream> OpenStreamAsync(GatewayContext context, ProviderRequest call, CancellationToken cancellationToken)
    {
        var provider = providers.For(call.Deployment);
        return breakers?.For(call.Deployment.Name) is { } breaker
            ? await breaker.ExecuteAsync(async ct => await FirstTokenTimeout.OpenAsync(provider, call, context.Time, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            : await FirstTokenTimeout.OpenAsync(provider, call, context.Time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The continuation of a broken stream: on the deployment that broke first (most failures are one connection's),
    /// then the request's other candidates in order, skipping those that do not continue (<c>Continuation: none</c>) and
    /// those behind an open breaker; each is asked in its own mode, from the same partial answer. Provider quotas are not
    /// asked again: the request was admitted once.
    /// </summary>
    private async Task<ReopenedStream> ReopenAsync(GatewayContext context, IReadOnlyList<Candidate> candidates, string delivered, int deliveredTokens,
        DeploymentOptions broken, CancellationToken cancellationToken)
    {
        GatewayException? last = null;
        foreach (var deployment in candidates.Select(c => c.Deployment).Where(d => d != broken).Prepend(broken))
        {
            var mode = StreamContinuation.ModeOf(deployment);
            if (mode == StreamContinuation.None) continue;
            var request = StreamContinuation.Build(context.RequireRequest(), delivered, mode, deliveredTokens);
            try
            {
                var stream = await OpenStreamAsync(context, new ProviderRequest(request, deployment, context.RequestId), cancellationToken).ConfigureAwait(false);
                context.Deployment = deployment;
                return new ReopenedStream(stream, deployment, mode);
            }
            catch (BrokenCircuitException)
            {
                // behind an open breaker: the next one
            }
            catch (GatewayException ex) when (RetryableFailures.IsRetryable(ex))
            {
                NoteIfBilled(context, deployment, ex);
                last = ex;
            }
        }

        throw last ?? new GatewayException(new GatewayError(503, "No deployment could continue the stream.", "api_error", null, "no_healthy_deployment"));
    }

    private static void NoteIfBilled(GatewayContext context, DeploymentOptions deployment, GatewayException failure)
    {
        if (UpstreamErrors.MayHaveBeenBilled(failure)) context.NoteBilledFailure(deployment);
    }

    private static string Logged(Candidate candidate, GatewayException ex) =>
        candidate.Deployment.Name + " " + ex.Error.Status.ToString(CultureInfo.InvariantCulture) + (ex.Error.Code is { } code ? " " + code : "");

    private static async ValueTask<UpstreamAdmission> Admit(UpstreamGate upstream, DeploymentOptions d, string key, long tokens, GatewayContext context)
    {
        try
        {
            return await upstream.AdmitAsync(d, key, tokens, context.AdmissionTimeLeft, context.Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or GatewayException))
        {
            throw Errors.Errors.DependencyUnavailable("its provider quotas", "upstream_limits_unavailable", ex);
        }
    }

    /// <summary>The provider's Retry-After when it is short enough to wait, else exponential backoff with full jitter; null to give up.</summary>
    private TimeSpan? Backoff(int attempt, int? retryAfterSeconds)
    {
        if (retryAfterSeconds is { } seconds)
            return seconds <= _resilience.MaxRetryAfterSeconds ? TimeSpan.FromSeconds(seconds) : null;
        var ceiling = Math.Min(_resilience.MaxDelayMs, _resilience.BaseDelayMs * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }

    private async Task<GatewayResult> CallAsync(GatewayContext context, Candidate candidate, long tokens, string key)
    {
        var deployment = candidate.Deployment;
        var request = context.RequireRequest();
        context.Deployment = deployment;
        context.ResponseHeaders[GatewayHeaders.Provider] = deployment.Provider.ToLowerInvariant();
        context.ResponseHeaders[GatewayHeaders.Deployment] = deployment.Name;
        context.FallbackModel = candidate.Model != context.RequireModel().Name ? candidate.Model : null;
        if (context.FallbackModel is { } fallback) context.ResponseHeaders[FallbackHeader] = fallback;
        else context.ResponseHeaders.Remove(FallbackHeader);
        if (upstream is not null && deployment.TokensPerMinute is { } tpm)
        {
            context.OnCompleted(() =>
            {
                // tokens counted up front but not used go back to the quota (small differences are not worth a message)
                var used = context.Usage?.TotalTokens ?? 0;
                if (ReferenceEquals(context.Deployment, deployment) && tokens - used > tpm / 100) upstream.Refund(deployment, key, tokens - used);
                return ValueTask.CompletedTask;
            });
        }

        var provider = providers.For(deployment);
        var call = new ProviderRequest(request, deployment, context.RequestId);
        var started = context.Time.GetTimestamp();
        var success = false;
        selector.Stats.Begin(deployment.Name);
        try
        {
            var breaker = breakers?.For(deployment.Name);
            if (request.Stream)
            {
                var stream = await OpenStreamAsync(context, call, context.Aborted).ConfigureAwait(false);
                success = true;
                return new GatewayResult.Streaming(stream);
            }

            var completion = breaker is null
                ? await provider.CompleteAsync(call, context.Aborted).ConfigureAwait(false)
                : await breaker.ExecuteAsync(async ct => await provider.CompleteAsync(call, ct).ConfigureAwait(false), context.Aborted).ConfigureAwait(false);
            success = true;
            return new GatewayResult.Completion(completion.Body, completion.Usage);
        }
        finally
        {
            context.UpstreamLatency = context.Time.GetElapsedTime(started);
            // for a stream, the time to open it (its first byte); in flight until then
            selector.Stats.End(deployment.Name, context.UpstreamLatency.Value, success);
            context.ResponseHeaders[GatewayHeaders.UpstreamLatency] = ((long)context.UpstreamLatency.Value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
    }
}
