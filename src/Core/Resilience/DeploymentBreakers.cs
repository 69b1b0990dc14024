using System.Collections.Concurrent;
using Gateway.Core.Errors;
using Polly;
using Polly.CircuitBreaker;

namespace Gateway.Core.Resilience;

/// <summary>Retries, backoff and circuit breakers (section <c>Gateway:Resilience</c>).</summary>
public sealed class ResilienceOptions
{
    /// <summary>Upstream calls per request at most, across retries and fallbacks.</summary>
    public int MaxAttempts { get; set; } = 3;
    /// <summary>How many times one stream that broke after its first byte is continued (0: never; it ends with an error event).</summary>
    public int MaxStreamRecoveries { get; set; } = 2;
    /// <summary>First retry delay; doubles each retry, with full jitter.</summary>
    public double BaseDelayMs { get; set; } = 200;
    /// <summary>Longest backoff delay.</summary>
    public double MaxDelayMs { get; set; } = 2000;
    /// <summary>A provider's Retry-After is honoured up to this; beyond it the request fails over or gives up instead of waiting.</summary>
    public double MaxRetryAfterSeconds { get; set; } = 5;
    /// <summary>The breaker opens when at least this share of calls failed in the sampling window…</summary>
    public double FailureRatio { get; set; } = 0.5;
    /// <summary>…with at least this many calls in it.</summary>
    public int MinimumThroughput { get; set; } = 10;
    public double SamplingSeconds { get; set; } = 30;
    /// <summary>How long an open breaker stays open before a half-open probe.</summary>
    public double BreakSeconds { get; set; } = 15;
}

/// <summary>Which upstream failures may be retried: rate limits, server errors, timeouts, resets (never a 4xx the caller caused).</summary>
public static class RetryableFailures
{
    public static bool IsRetryable(Exception ex) => ex is GatewayException { Error: var e } &&
        e.Code is "rate_limit_exceeded" or "upstream_error" or "upstream_timeout" or "upstream_protocol_error" && e.Status is 429 or 502 or 503 or 504;
}

/// <summary>A deployment's breaker changed state (for metrics and tests).</summary>
public sealed record BreakerEvent(string Deployment, CircuitState State, DateTimeOffset At);

/// <summary>
/// One circuit breaker per deployment (Polly v8): it opens when the failure ratio over the sampling window reaches
/// <see cref="ResilienceOptions.FailureRatio"/>, stays open for <see cref="ResilienceOptions.BreakSeconds"/>, then lets
/// one probe through (half-open) and closes on its success.
/// </summary>
public sealed class DeploymentBreakers(ResilienceOptions options, TimeProvider time, Action<BreakerEvent>? observer = null)
{
    private readonly ConcurrentDictionary<string, (ResiliencePipeline Pipeline, CircuitBreakerStateProvider State)> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<BreakerEvent> _events = new();

    public IReadOnlyList<BreakerEvent> Events => [.. _events];

    /// <summary>Every deployment's breaker state as this instance knows it (deployments never called are not listed).</summary>
    public IEnumerable<(string Deployment, CircuitState State)> States => _breakers.Select(b => (b.Key, b.Value.State.CircuitState));

    public CircuitState StateOf(string deployment) => _breakers.TryGetValue(deployment, out var b) ? b.State.CircuitState : CircuitState.Closed;

    public ResiliencePipeline For(string deployment) => _breakers.GetOrAdd(deployment, name =>
    {
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = Math.Max(2, options.MinimumThroughput),
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(0.5, options.SamplingSeconds)),
                BreakDuration = TimeSpan.FromSeconds(Math.Max(0.5, options.BreakSeconds)),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && RetryableFailures.IsRetryable(ex)),
                StateProvider = state,
                OnOpened = _ => Record(name, CircuitState.Open),
                OnClosed = _ => Record(name, CircuitState.Closed),
                OnHalfOpened = _ => Record(name, CircuitState.HalfOpen),
            })
            .Build();
        return (pipeline, state);
    }).Pipeline;

    private ValueTask Record(string deployment, CircuitState state)
    {
        var e = new BreakerEvent(deployment, state, time.GetUtcNow());
        _events.Enqueue(e);
        observer?.Invoke(e);
        return ValueTask.CompletedTask;
    }
}
