using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.RateLimits;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Benchmarks;

/// <summary>
/// The gateway with every feature on against calling the provider directly, twice: in process against the mock provider
/// (the gateway's own CPU cost, without network noise), and over real HTTP to a local server speaking OpenAI's wire
/// format with the same pooled HTTP client settings (server and client share the 2 cores, so thread hand-offs dominate
/// and the figures are wide). On: key authentication, body validation, the
/// tokenizer-based cost estimate, per-key and per-(key, model) RPM/TPM limits, budgets on the key's team and globally,
/// the deployment's provider quota, its circuit breaker and retry policy, the response cache (looked past with
/// Cache-Control: no-cache, so every request goes upstream, is de-duplicated and stored), exact pricing, metrics, and the
/// usage record encoded as the queue message the Functions app sends. Limits are set high so nothing is refused.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EveryFeatureBenchmarks
{
    private static readonly byte[] MockBody = Encoding.UTF8.GetBytes(
        """{"model":"mock-1","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the quarterly numbers in one sentence."}],"temperature":0,"max_tokens":64}""");
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the quarterly numbers in one sentence."}],"temperature":0,"max_tokens":64}""");

    private FakeLlmServer _server = null!;
    private HttpClient _http = null!;
    private GatewayRuntime _runtime = null!;
    private GatewayRuntime _mockRuntime = null!;
    private MockProvider _mock = null!;
    private ProviderRequest _mockCall = null!;
    private BenchHeaders _mockHeaders = null!;
    private BenchHeaders _headers = null!;
    private Uri _completions = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = FakeLlmServer.StartAsync().GetAwaiter().GetResult();
        _completions = new Uri(_server.BaseUri, "v1/chat/completions");
        _http = UpstreamHttp.Configure(new HttpClient(UpstreamHttp.CreateHandler(new UpstreamHttpOptions())));
        var deployment = new DeploymentOptions
        {
            Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _server.BaseUri + "v1", ApiKeySetting = "K",
            RequestsPerMinute = 1_000_000_000, TokensPerMinute = 1_000_000_000_000, FirstTokenTimeoutSeconds = 30, ConnectTimeoutSeconds = 5,
        };
        (_runtime, _headers) = EveryFeature(deployment, "gpt-4o");
        var mock = new DeploymentOptions
        {
            Name = "mock", Provider = "mock", Model = "mock-1", MockCompletionTokens = 16,
            RequestsPerMinute = 1_000_000_000, TokensPerMinute = 1_000_000_000_000, FirstTokenTimeoutSeconds = 30,
        };
        (_mockRuntime, _mockHeaders) = EveryFeature(mock, "mock-1");
        _mock = new MockProvider(mock, TimeProvider.System);
        _mockCall = new ProviderRequest(ChatRequestParser.Parse(MockBody), mock, "req");
    }

    private (GatewayRuntime, BenchHeaders) EveryFeature(DeploymentOptions deployment, string model)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [deployment], Models = [new ModelOptions { Name = model, Deployments = [deployment.Name] }] },
            RateLimits = new RateLimitOptions
            {
                KeyRequestsPerMinute = 1_000_000_000, KeyTokensPerMinute = 1_000_000_000_000,
                KeyModelRequestsPerMinute = 1_000_000_000, KeyModelTokensPerMinute = 1_000_000_000_000,
            },
        };
        var runtime = new GatewayRuntime(options, new BenchSecrets("sk-upstream"), new InMemoryKeyStore(), _ => _http, TimeProvider.System, usage: new QueueMessageSink());
        var (_, key) = runtime.Keys.CreateAsync(new CreateKeyRequest("bench", "u", "t", [], new Dictionary<string, string> { ["app"] = "bench" }), default).GetAwaiter().GetResult();
        var budgets = new BudgetAdministration(runtime.Budgets);
        foreach (var scope in new[] { BudgetScope.ForTeam("t"), BudgetScope.Global })
            budgets.ConfigureAsync(new BudgetDefinition { Scope = scope, LimitUsd = 1_000_000_000m }, default).GetAwaiter().GetResult();
        return (runtime, new BenchHeaders(key, "no-cache"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "mock provider, direct")]
    [BenchmarkCategory("in-process")]
    public async Task<long> MockDirect()
    {
        var completion = await _mock.CompleteAsync(_mockCall, default);
        using var output = new MemoryStream();
        await System.Text.Json.JsonSerializer.SerializeAsync(output, completion.Body);
        return output.Length;
    }

    [Benchmark(Description = "gateway, every feature on, mock provider")]
    [BenchmarkCategory("in-process")]
    public Task<long> MockGateway() => GatewayCalls.CompleteAsync(_mockRuntime, _mockHeaders, MockBody);

    [Benchmark(Baseline = true, Description = "HTTP to the provider, direct")]
    [BenchmarkCategory("http")]
    public async Task<long> Direct()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _completions) { Content = new ByteArrayContent(Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-upstream");
        using var response = await _http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return bytes.Length;
    }

    [Benchmark(Description = "gateway, every feature on, over HTTP")]
    [BenchmarkCategory("http")]
    public Task<long> Gateway() => GatewayCalls.CompleteAsync(_runtime, _headers, Body);

    /// <summary>Encodes each usage record as the queue message the Functions app sends, then drops it.</summary>
    private sealed class QueueMessageSink : IUsageSink
    {
        public long Bytes { get; private set; }

        public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
        {
            Bytes += UsageRecordCodec.EncodeUtf8(record).Length;
            return ValueTask.CompletedTask;
        }
    }
}
