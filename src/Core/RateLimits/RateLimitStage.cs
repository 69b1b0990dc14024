using System.Globalization;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;

namespace Gateway.Core.RateLimits;

/// <summary>
/// Requests and tokens per minute, per key and per (key, model). Tokens are counted up front as the prompt estimate
/// plus the output cap (max_tokens × n, else <see cref="RateLimitOptions.DefaultOutputTokens"/>) and corrected with the
/// real count after the call. Every response carries OpenAI's <c>x-ratelimit-*</c> headers (the tightest counter);
/// a refusal is 429 <c>rate_limit_exceeded</c> with <c>Retry-After</c>.
/// </summary>
public sealed class RateLimitStage(RateLimitGate gate, RateLimitOptions options) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var principal = context.RequirePrincipal();
        var counters = gate.CountersFor(principal.KeyId, context.RequireModel().Name);
        if (counters.Count == 0) return await next(context).ConfigureAwait(false);

        var estimated = context.UpFrontTokens(options.DefaultOutputTokens);
        RateLimitAdmission admission;
        try
        {
            admission = await gate.AdmitAsync(counters, estimated, context.AdmissionTimeLeft, context.Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or GatewayException))
        {
            throw Errors.Errors.DependencyUnavailable("its rate limits", "rate_limits_unavailable", ex);
        }
        Refuse(context, admission, estimated);

        context.OnCompleted(() =>
        {
            var actual = context.Usage?.TotalTokens ?? 0;
            gate.Correct(counters, actual - estimated);
            return ValueTask.CompletedTask;
        });
        return await next(context).ConfigureAwait(false);
    }

    /// <summary>Writes the rate-limit headers and, when the admission is a refusal, throws the 429 (or 503 when undecided).</summary>
    internal static void Refuse(GatewayContext context, RateLimitAdmission admission, long? estimated)
    {
        if (admission.Status is { } status)
        {
            foreach (var (name, value) in RateLimitHeaders.Format(status)) context.ResponseHeaders[name] = value;
        }

        if (admission.Allowed) return;
        if (admission.Undecided) throw Errors.Errors.AdmissionUndecided($"the rate limit '{admission.RefusedBy}'");
        var retry = admission.RetryAfter is { } wait ? int.Parse(RateLimitHeaders.RetryAfterSeconds(wait), CultureInfo.InvariantCulture) : (int?)null;
        throw new GatewayException(new GatewayError(429, admission.TooLarge
                ? $"This request ({estimated} tokens counted up front) is larger than the rate limit '{admission.RefusedBy}' allows per minute; lower max_tokens."
                : $"Rate limit reached for '{admission.RefusedBy}'. Retry after the time given in Retry-After.",
            "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = retry });
    }
}

/// <summary>
/// Runs before the cost estimate, so the prompt is never tokenized for a request the rate limit already knows it will
/// refuse: a counter of the caller that refused within the last second with nothing left
/// (<see cref="RateLimitGate.KnownRefusal"/>) refuses again at once, with the same headers and Retry-After.
/// </summary>
public sealed class RateLimitEarlyRefusalStage(RateLimitGate gate) : IGatewayStage
{
    public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var counters = gate.CountersFor(context.RequirePrincipal().KeyId, context.RequireModel().Name);
        if (counters.Count > 0 && gate.KnownRefusal(counters, context.AdmissionTimeLeft) is { } refusal) RateLimitStage.Refuse(context, refusal, null);
        return next(context);
    }
}
