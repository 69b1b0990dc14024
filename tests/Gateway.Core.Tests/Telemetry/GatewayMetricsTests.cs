using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Telemetry;

namespace Gateway.Core.Tests.Telemetry;

/// <summary>The meters follow the GenAI semantic conventions and count the gateway's own events.</summary>
public sealed class GatewayMetricsTests
{
    private sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    private sealed class Headers(string key) : IRequestHeaders
    {
        public string? Get(string name) => name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? "Bearer " + key : null;
    }

    private sealed class NoSecrets : ISecretResolver
    {
        public string? Resolve(string settingName) => null;
    }

    [Fact]
    public async Task Requests_record_token_usage_duration_cost_and_cache_hits()
    {
        using var metrics = new GatewayMetrics();
        var measurements = new ConcurrentQueue<Measurement>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == null || instrument.Meter.Name != GatewayMetrics.MeterName) return;
            l.EnableMeasurementEvents(instrument);
        };
        void On<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) where T : struct =>
            measurements.Enqueue(new Measurement(instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.SetMeasurementEventCallback<long>(On);
        listener.SetMeasurementEventCallback<double>(On);
        listener.Start();

        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1", MockCompletionTokens = 5 }],
                Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }],
            },
        };
        var runtime = new GatewayRuntime(options, new NoSecrets(), new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, metrics: metrics);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"mock-1","temperature":0,"messages":[{"role":"user","content":"one two three"}]}""");
        for (var i = 0; i < 2; i++)
        {
            var context = new GatewayContext("r", new Headers(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
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

    [Theory]
    [InlineData("openai", "openai")]
    [InlineData("azure-openai", "az.ai.openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("mock", "mock")]
    public void Providers_map_to_genai_system_names(string provider, string system) => Assert.Equal(system, GatewayMetrics.SystemOf(provider));
}
