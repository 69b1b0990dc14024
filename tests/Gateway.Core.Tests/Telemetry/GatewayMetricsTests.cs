using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Telemetry;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Telemetry;

/// <summary>The meters follow the GenAI semantic conventions and count the gateway's own events.</summary>
[Trait("Category", "Pipeline")]
public sealed class GatewayMetricsTests
{
    private sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    /// <summary>Collects every measurement of this gateway's meter only (other tests' gateways in this process publish under the same name).</summary>
    private static MeterListener Listen(GatewayMetrics metrics, ConcurrentQueue<Measurement> measurements)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter) l.EnableMeasurementEvents(instrument);
        };
        void On<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) where T : struct =>
            measurements.Enqueue(new Measurement(instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.SetMeasurementEventCallback<long>(On);
        listener.SetMeasurementEventCallback<int>(On);
        listener.SetMeasurementEventCallback<double>(On);
        listener.Start();
        return listener;
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task Requests_record_token_usage_duration_cost_and_cache_hits()
    {
        using var metrics = new GatewayMetrics();
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = Listen(metrics, measurements);

        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1", MockCompletionTokens = 5 }],
                Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, metrics: metrics, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"mock-1","temperature":0,"messages":[{"role":"user","content":"one two three"}]}""");
        for (var i = 0; i < 2; i++)
        {
            var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
            Assert.Null((await runtime.ChatCompletions.HandleAsync(context)).Error);
            await context.CompleteAsync();
        }

        listener.RecordObservableInstruments();
        var tokens = measurements.Where(m => m.Instrument == "gen_ai.client.token.usage").ToList();
        Assert.Equal(4, tokens.Count);
        Assert.Equal([5d, 5d], tokens.Where(t => (string?)t.Tags["gen_ai.token.type"] == "output").Select(t => t.Value));
        Assert.All(tokens, t => Assert.Equal("chat", t.Tags["gen_ai.operation.name"]));
        Assert.All(tokens, t => Assert.Equal("mock-1", t.Tags["gen_ai.request.model"]));
        Assert.Equal(2, measurements.Count(m => m.Instrument == "gen_ai.client.operation.duration"));
        Assert.Single(measurements, m => m.Instrument == "llm_gateway.cost");
        Assert.Single(measurements, m => m.Instrument == "llm_gateway.cache.hits");
        var saved = Assert.Single(measurements, m => m.Instrument == "llm_gateway.cache.savings");
        Assert.Equal(measurements.Single(m => m.Instrument == "llm_gateway.cost").Value, saved.Value);
    }

    [Fact]
    public async Task A_fallback_is_counted_and_every_called_deployment_reports_its_breaker_state()
    {
        await using var upstream = await Gateway.Testing.FakeLlmServer.StartAsync();
        upstream.EnqueueFault(new Gateway.Testing.ServerError(500));
        using var metrics = new GatewayMetrics();
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = Listen(metrics, measurements);

        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "a", Provider = "openai-compatible", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", Pricing = { Free = true } },
                    new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" },
                ],
                Models = [new ModelOptions { Name = "primary", Deployments = ["a"], Fallbacks = ["backup"] }, new ModelOptions { Name = "backup", Deployments = ["mock"] }],
            },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 2 },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, metrics: metrics, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"primary","messages":[{"role":"user","content":"hello"}]}""");
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
        Assert.Null((await runtime.ChatCompletions.HandleAsync(context)).Error);
        await context.CompleteAsync();
        Assert.Equal("backup", context.ResponseHeaders[Gateway.Core.Pipeline.Stages.ProviderStage.FallbackHeader]);

        listener.RecordObservableInstruments();
        var fallback = Assert.Single(measurements, m => m.Instrument == "llm_gateway.fallbacks");
        Assert.Equal("backup", fallback.Tags["llm_gateway.fallback_model"]);
        Assert.Equal("primary", fallback.Tags["gen_ai.request.model"]);
        var states = measurements.Where(m => m.Instrument == "llm_gateway.breaker.state").ToDictionary(m => (string)m.Tags["llm_gateway.deployment"]!, m => m.Value);
        Assert.Equal(0d, states["a"]); // one failure does not open it
        Assert.Equal(0d, states["mock"]);
    }

    [Theory]
    [InlineData("openai", "openai")]
    [InlineData("azure-openai", "az.ai.openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("mock", "mock")]
    public void Providers_map_to_genai_system_names(string provider, string system) => Assert.Equal(system, GatewayMetrics.SystemOf(provider));

    [Fact]
    public async Task Budget_alerts_are_counted_by_scope_kind_and_threshold_and_still_reach_the_inner_sink()
    {
        using var metrics = new GatewayMetrics();
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = Listen(metrics, measurements);
        var inner = new CollectingAlertSink();
        var sink = new MeteredBudgetAlertSink(inner, metrics);
        var at = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        BudgetAlert[] alerts =
        [
            new(BudgetScope.ForTeam("search"), 0.8m, at, at.AddMonths(1), 80m, 100m, at),
            new(BudgetScope.ForUser("alice"), 1m, at, at.AddMonths(1), 10m, 10m, at),
        ];
        await sink.PublishAsync(alerts, default);

        Assert.Equal(alerts, inner.Alerts);
        var counted = measurements.Where(m => m.Instrument == "llm_gateway.budget.alerts").ToList();
        Assert.Equal(2, counted.Count);
        Assert.All(counted, m => Assert.Equal(1d, m.Value));
        Assert.Equal(["team|0.8", "user|1"], counted.Select(m => $"{m.Tags["llm_gateway.budget.scope_kind"]}|{m.Tags["llm_gateway.budget.threshold"]}"));
        // the scope's id (a user, a key) is never a metric dimension
        Assert.All(counted, m => Assert.DoesNotContain(m.Tags.Values, v => v is string text && (text.Contains("alice", StringComparison.Ordinal) || text.Contains("search", StringComparison.Ordinal))));
    }

    [Fact]
    public void The_requests_counter_carries_the_http_status()
    {
        using var metrics = new GatewayMetrics();
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = Listen(metrics, measurements);
        metrics.Record(new UsageRecord { RequestId = "r1", At = DateTimeOffset.UnixEpoch, KeyId = "k", ModelRequested = "m", Status = 502, Outcome = "error", ErrorCode = "upstream_error" });
        metrics.Record(new UsageRecord { RequestId = "r2", At = DateTimeOffset.UnixEpoch, KeyId = "k", ModelRequested = "m", Status = 200, Outcome = "success" });

        var requests = measurements.Where(m => m.Instrument == "llm_gateway.requests").ToList();
        Assert.Equal([502, 200], requests.Select(m => (int)m.Tags["http.response.status_code"]!));
    }

    [Theory]
    [InlineData(null, false, null)]
    [InlineData("", false, null)]
    [InlineData("Authorization=AAD", true, null)]
    [InlineData("ClientId=7c1f0d2e-0000-4000-8000-000000000001;Authorization=AAD", true, "7c1f0d2e-0000-4000-8000-000000000001")]
    [InlineData(" authorization = aad ; clientid = abc ", true, "abc")]
    [InlineData("ClientId=abc", false, null)]
    [InlineData("Authorization=Key;ClientId=abc", false, null)]
    [InlineData("garbage;=x;Authorization", false, null)]
    public void The_application_insights_authentication_string_is_read_as_the_host_reads_it(string? value, bool entra, string? clientId) =>
        Assert.Equal((entra, clientId), ApplicationInsightsAuthentication.Parse(value));

    private sealed class CollectingAlertSink : IBudgetAlertSink
    {
        public List<BudgetAlert> Alerts { get; } = [];

        public Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
        {
            Alerts.AddRange(alerts);
            return Task.CompletedTask;
        }
    }
}
