using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Core.Budgets;
using Gateway.Core.Resilience;
using Gateway.Core.Usage;
using Polly.CircuitBreaker;

namespace Gateway.Core.Telemetry;

/// <summary>
/// The gateway's meters. GenAI semantic conventions: <c>gen_ai.client.token.usage</c> (histogram of tokens per request,
/// by <c>gen_ai.token.type</c> input/output) and <c>gen_ai.client.operation.duration</c> (seconds), tagged with
/// <c>gen_ai.operation.name</c>, <c>gen_ai.system</c>, <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c> and
/// <c>error.type</c> on failures. The gateway's own: cost and cache savings (USD), cache hits, coalesced requests,
/// retries, fallbacks and circuit-breaker transitions. Exported by whatever OpenTelemetry pipeline listens to the
/// meter <see cref="MeterName"/> (Azure Monitor in the Functions app when configured).
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "LlmGateway";

    private readonly Meter _meter;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<double> _cost;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerToken;
    private readonly Histogram<double> _streamDuration;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Counter<long> _malformed;
    private readonly Counter<long> _recovered;
    private readonly Counter<double> _savings;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _coalesced;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _breaker;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _usageDropped;
    private readonly Counter<long> _safetyUnavailable;
    private readonly Counter<long> _budgetAlerts;
    private Func<IEnumerable<(string Deployment, CircuitState State)>>? _breakerStates;

    public GatewayMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName, "1.0") ?? new Meter(MeterName, "1.0");
        _tokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.");
        _duration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "GenAI operation duration.");
        _cost = _meter.CreateCounter<double>("llm_gateway.cost", "USD", "What requests cost.");
        _timeToFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time to the first token of a stream, as the client saw it.");
        _timePerToken = _meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Median gap between a stream's chunks after the first (inter-token latency).");
        _streamDuration = _meter.CreateHistogram<double>("llm_gateway.stream.duration", "s", "From the request to a stream's end.");
        _tokensPerSecond = _meter.CreateHistogram<double>("llm_gateway.stream.output_tokens_per_second", "{token}/s", "Output tokens per second after the first token.");
        _malformed = _meter.CreateCounter<long>("llm_gateway.stream.malformed_chunks", "{chunk}", "Upstream stream events that were not valid chunks (the stream ended with an error event).");
        _recovered = _meter.CreateCounter<long>("llm_gateway.stream.recoveries", "{recovery}", "Streams broken after their first byte and continued.");
        _savings = _meter.CreateCounter<double>("llm_gateway.cache.savings", "USD", "What cached and coalesced answers would have cost.");
        _cacheHits = _meter.CreateCounter<long>("llm_gateway.cache.hits", "{request}", "Requests answered from the cache.");
        _coalesced = _meter.CreateCounter<long>("llm_gateway.coalesced", "{request}", "Requests that shared an identical call in flight.");
        _retries = _meter.CreateCounter<long>("llm_gateway.retries", "{attempt}", "Upstream calls beyond the first, per request.");
        _requests = _meter.CreateCounter<long>("llm_gateway.requests", "{request}", "Requests by outcome.");
        _breaker = _meter.CreateCounter<long>("llm_gateway.breaker.transitions", "{transition}", "Circuit-breaker state changes by deployment.");
        _fallbacks = _meter.CreateCounter<long>("llm_gateway.fallbacks", "{request}", "Requests answered by a configured fallback model.");
        _usageDropped = _meter.CreateCounter<long>("llm_gateway.usage.records_dropped", "{record}", "Usage records dropped because the usage queue stayed unreachable past the spool's bound.");
        _safetyUnavailable = _meter.CreateCounter<long>("llm_gateway.safety.unavailable", "{check}",
            "Content-safety checks the service could not answer (timeout, throttling, failure), by reason.");
        _budgetAlerts = _meter.CreateCounter<long>("llm_gateway.budget.alerts", "{alert}",
            "Budget thresholds reached (each alert once), by scope kind and threshold.");
        _meter.CreateObservableGauge("llm_gateway.breaker.state", ObserveBreakers, "{state}",
            "Circuit-breaker state per deployment on this instance: 0 closed, 1 half-open, 2 open (3 isolated).");
    }

    /// <summary>This instance's meter (several gateways in one process each have their own).</summary>
    public Meter Meter => _meter;

    /// <summary>Counts a content-safety check the service could not answer; <paramref name="reason"/> is timeout, throttled or failed.</summary>
    public void RecordSafetyUnavailable(string reason) => _safetyUnavailable.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts one budget alert: a budget crossed one of its thresholds. Tagged with the scope's kind and the
    /// threshold, never the scope's id (a user or key id is not a metric dimension).</summary>
    public void RecordBudgetAlert(BudgetAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        _budgetAlerts.Add(1, new TagList
        {
            { "llm_gateway.budget.scope_kind", alert.Scope.Kind.ToString().ToLowerInvariant() },
            { "llm_gateway.budget.threshold", alert.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
    }

    /// <summary>Counts usage records the batcher had to drop (its spool was full).</summary>
    public void RecordUsageDropped(int count) => _usageDropped.Add(count);

    /// <summary>The GenAI system name for a provider (semantic conventions).</summary>
    public static string SystemOf(string? provider) => provider switch
    {
        "openai" or "openai-compatible" => "openai",
        "azure-openai" => "az.ai.openai",
        "anthropic" => "anthropic",
        null => "_OTHER",
        _ => provider,
    };

    /// <summary>Records one finished request from its usage record.</summary>
    public void Record(UsageRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.system", SystemOf(r.Provider) },
            { "gen_ai.request.model", r.ModelRequested },
            { "gen_ai.response.model", r.ModelServed },
            { "llm_gateway.deployment", r.Deployment },
        };
        if (r.IsError) tags.Add("error.type", r.ErrorCode ?? r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));

        _duration.Record(r.LatencyMs / 1000.0, tags);
        if (!r.IsError || r.PromptTokens + r.CompletionTokens > 0)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            _tokens.Record(r.PromptTokens, input);
            var output = tags;
            output.Add("gen_ai.token.type", "output");
            _tokens.Record(r.CompletionTokens, output);
        }

        var outcome = new TagList
        {
            { "gen_ai.request.model", r.ModelRequested }, { "llm_gateway.outcome", r.Outcome }, { "llm_gateway.cache", r.CacheStatus },
            { "http.response.status_code", r.Status },
        };
        _requests.Add(1, outcome);
        if (r.CostUsd > 0) _cost.Add((double)r.CostUsd, tags);
        if (r.CacheStatus == "hit") _cacheHits.Add(1, tags);
        if (r.CacheStatus == "coalesced") _coalesced.Add(1, tags);
        if (r.SavedUsd > 0) _savings.Add((double)r.SavedUsd, tags);
        if (r.Attempts > 1) _retries.Add(r.Attempts - 1, tags);
        if (r.Stream)
        {
            if (r.TimeToFirstTokenMs is { } ttft) _timeToFirstToken.Record(ttft / 1000.0, tags);
            if (r.InterTokenP50Ms is { } itl) _timePerToken.Record(itl / 1000.0, tags);
            if (r.StreamDurationMs is { } duration) _streamDuration.Record(duration / 1000.0, tags);
            if (r.OutputTokensPerSecond is { } rate) _tokensPerSecond.Record(rate, tags);
            if (r.ErrorCode == "upstream_protocol_error") _malformed.Add(1, tags);
            if (r.StreamRecoveries > 0) _recovered.Add(r.StreamRecoveries, tags);
        }

        if (r.FallbackModel is { } fallback)
        {
            var fallbackTags = tags;
            fallbackTags.Add("llm_gateway.fallback_model", fallback);
            _fallbacks.Add(1, fallbackTags);
        }
    }

    /// <summary>Reports the breakers' states through the <c>llm_gateway.breaker.state</c> gauge.</summary>
    public void ObserveBreakers(DeploymentBreakers breakers)
    {
        ArgumentNullException.ThrowIfNull(breakers);
        _breakerStates = () => breakers.States;
    }

    private IEnumerable<Measurement<int>> ObserveBreakers() =>
        (_breakerStates?.Invoke() ?? []).Select(b => new Measurement<int>(b.State switch
        {
            CircuitState.Closed => 0,
            CircuitState.HalfOpen => 1,
            CircuitState.Open => 2,
            _ => 3,
        }, new KeyValuePair<string, object?>("llm_gateway.deployment", b.Deployment)));

    public void Record(BreakerEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        _breaker.Add(1, new TagList { { "llm_gateway.deployment", e.Deployment }, { "llm_gateway.breaker.state", e.State.ToString().ToLowerInvariant() } });
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Records each usage record in the metrics, then passes it on.</summary>
public sealed class MeteredUsageSink(IUsageSink inner, GatewayMetrics metrics) : IUsageSink
{
    public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        metrics.Record(record);
        return inner.SubmitAsync(record, cancellationToken);
    }
}

/// <summary>Counts each budget alert in the metrics (<c>llm_gateway.budget.alerts</c>), then passes the alerts on.</summary>
public sealed class MeteredBudgetAlertSink(IBudgetAlertSink inner, GatewayMetrics metrics) : IBudgetAlertSink
{
    public Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        foreach (var alert in alerts) metrics.RecordBudgetAlert(alert);
        return inner.PublishAsync(alerts, cancellationToken);
    }
}
