using System.Globalization;
using System.Text;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Routing;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Pipeline;

/// <summary>
/// A request keeps the model catalog it started with: one in flight when the catalog is replaced finishes on its
/// deployment (even one the new catalog removed), while the next request is served by the new catalog.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class CatalogReplacementTests
{
    private const string Key = "sk-gw-catalog";
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T09:00:00Z", CultureInfo.InvariantCulture));
    private readonly InMemoryUsageSink _usage = new();
    private readonly DeploymentSelector _selector = new(_ => 0);

    /// <summary>Model "m" served by "old-d" (a mock that waits a second before answering, streams a word every 100 ms).</summary>
    private async Task<GatewayRuntime> Runtime()
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "old-d", Provider = "mock", MockLatencyMs = 1000, MockChunkDelayMs = 100, MockCompletionTokens = 6 }],
                Models = [new ModelOptions { Name = "m", Deployments = ["old-d"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new Gateway.Core.Auth.InMemoryKeyStore(), _ => throw new InvalidOperationException("no http"), _time,
            selector: _selector, usage: _usage, features: TestFeatures.Current);
        await runtime.Keys.EnsureKeyAsync(Key, "catalog", default);
        return runtime;
    }

    /// <summary>The new catalog: "m" (and a new alias) served by "new-d" only, "old-d" gone.</summary>
    private const string Replacement = """
        { "Deployments": [ { "Name": "new-d", "Provider": "mock", "MockCompletionTokens": 3 } ],
          "Models": [ { "Name": "m", "Aliases": ["m-next"], "Deployments": ["new-d"] } ] }
        """;

    private GatewayContext Call(GatewayRuntime runtime, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return new GatewayContext("req_" + Guid.NewGuid().ToString("N")[..8], new Headers(("Authorization", "Bearer " + Key)), new MemoryStream(body), body.Length, runtime.Time, default);
    }

    private sealed class Headers(params (string Name, string Value)[] values) : IRequestHeaders
    {
        public string? Get(string name) => values.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
    }

    /// <summary>Moves the fake clock on until <paramref name="task"/> is done (the mock waits on it).</summary>
    private async Task<T> Drive<T>(Task<T> task)
    {
        for (var i = 0; i < 10_000 && !task.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.WhenAny(task, Task.Delay(2));
        }

        return await task;
    }

    private static string Content(System.Text.Json.Nodes.JsonObject chunk) =>
        string.Concat((chunk["choices"]?.AsArray() ?? []).Select(c => (string?)c?["delta"]?["content"]));

    private async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 10_000 && !condition(); i++) await Task.Delay(1);
        Assert.True(condition());
    }

    [Fact]
    public async Task A_request_in_flight_finishes_on_the_old_catalog_while_the_next_one_uses_the_new()
    {
        var runtime = await Runtime();
        var first = Call(runtime, """{"model":"m","messages":[{"role":"user","content":"hello"}]}""");
        var inFlight = runtime.ChatCompletions.HandleAsync(first);
        // the first request is with its deployment, waiting for the answer
        await WaitUntil(() => _selector.Stats.InFlight("old-d") == 1);

        runtime.Catalogs.Install(new StoredDocument(Replacement, "\"v1\""));
        Assert.False(runtime.Catalog.TryResolve("missing", out _));

        var second = Call(runtime, """{"model":"m-next","messages":[{"role":"user","content":"hello"}]}""");
        var next = await runtime.ChatCompletions.HandleAsync(second);
        Assert.Null(next.Error);
        Assert.Equal("new-d", second.ResponseHeaders[GatewayHeaders.Deployment]);
        Assert.False(inFlight.IsCompleted);

        var finished = await Drive(inFlight);
        Assert.Null(finished.Error);
        Assert.Equal("old-d", first.ResponseHeaders[GatewayHeaders.Deployment]);
        Assert.Equal("old-d", first.Deployment!.Name);
        Assert.DoesNotContain(runtime.Catalog.Deployments, d => d.Name == "old-d");
        await first.CompleteAsync();
        await second.CompleteAsync();
        Assert.Equal(["new-d", "old-d"], _usage.Records.Select(r => r.Deployment).Order(StringComparer.Ordinal));
        Assert.True(_usage.Records.All(r => r.Status == 200 && r.CostUsd > 0));

        // and a request for the old name on the new catalog finds what the new catalog says
        var third = Call(runtime, """{"model":"m","messages":[{"role":"user","content":"again"}]}""");
        Assert.Null((await runtime.ChatCompletions.HandleAsync(third)).Error);
        Assert.Equal("new-d", third.ResponseHeaders[GatewayHeaders.Deployment]);
    }

    [Fact]
    public async Task A_stream_started_on_a_removed_deployment_streams_to_its_end()
    {
        var runtime = await Runtime();
        var context = Call(runtime, """{"model":"m","stream":true,"messages":[{"role":"user","content":"tell me"}]}""");
        var outcome = await Drive(runtime.ChatCompletions.HandleAsync(context));
        var streaming = Assert.IsType<GatewayResult.Streaming>(outcome.Result);
        var words = new StringBuilder();
        await using (streaming.Stream)
        {
            var first = await Drive(streaming.Stream.ReadAsync(default).AsTask());
            Assert.NotNull(first);
            words.Append(Content(first!));

            // mid-stream, the deployment disappears from the catalog in force
            runtime.Catalogs.Install(new StoredDocument(Replacement, "\"v1\""));
            Assert.False(runtime.Catalog.TryResolve("m", out var now) && now.Deployments.Any(d => d.Name == "old-d"));

            while (await Drive(streaming.Stream.ReadAsync(default).AsTask()) is { } chunk)
                words.Append(Content(chunk));
        }

        await context.CompleteAsync();
        Assert.Equal(6, words.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var record = Assert.Single(_usage.Records);
        Assert.Equal(("old-d", 200), (record.Deployment, record.Status));
        Assert.Equal(0, context.StreamRecoveries);
    }

    /// <summary>Answers every call with 503 (a deployment that fails, so the request falls back).</summary>
    private sealed class Unavailable : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable) { Content = new StringContent("{}") });
    }

    /// <summary>Replaces the catalog in force after the request's model was resolved, before the later stages run.</summary>
    private sealed class Replace(ModelCatalogHolder catalogs, string json) : IGatewayStage
    {
        public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
        {
            catalogs.Install(new StoredDocument(json, "\"v2\""));
            return next(context);
        }
    }

    [Fact]
    public async Task The_stages_after_resolution_use_the_catalog_the_request_started_with()
    {
        static string Catalog(string fallback) => $$"""
            { "Deployments": [
                { "Name": "flaky", "Provider": "openai-compatible", "Model": "x", "Endpoint": "http://flaky.test/v1", "Pricing": { "Free": true } },
                { "Name": "{{fallback}}", "Provider": "mock" } ],
              "Models": [ { "Name": "m", "Deployments": ["flaky"], "Fallbacks": ["f"] }, { "Name": "f", "Deployments": ["{{fallback}}"] } ] }
            """;
        var runtime = await Runtime();
        runtime.Catalogs.Install(new StoredDocument(Catalog("old-f"), "\"v1\""));
        var pipeline = new GatewayPipeline(
        [
            new AuthenticationStage(runtime.KeyAuthenticator),
            new RequestParsingStage(runtime.Options),
            new ModelResolutionStage(runtime.Catalogs),
            new Replace(runtime.Catalogs, Catalog("new-f")),
            new CostEstimateStage(runtime.CostMeter),
            new ProviderStage(new DeploymentSelector(_ => 0), new Gateway.Core.Providers.ProviderRegistry(_ => new HttpClient(new Unavailable()), TestSecrets.None, _time)),
        ]);
        var context = Call(runtime, """{"model":"m","messages":[{"role":"user","content":"hello"}]}""");
        var outcome = await new ChatCompletionService(pipeline).HandleAsync(context);

        Assert.Null(outcome.Error);
        Assert.Equal("\"v2\"", runtime.Catalogs.InForce.ETag);
        // the fallback of the catalog the request started with, not the one now in force
        Assert.Equal(("old-f", "f"), (context.ResponseHeaders[GatewayHeaders.Deployment], context.ResponseHeaders[ProviderStage.FallbackHeader]));
        Assert.Equal("flaky 502 upstream_error; old-f 200", context.ResponseHeaders[ProviderStage.AttemptLogHeader]);
    }
}
