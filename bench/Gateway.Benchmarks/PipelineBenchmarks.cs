using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Benchmarks;

/// <summary>
/// The whole gateway pipeline (authenticate, read and validate the body, resolve the model, route, call
/// the provider, serialise the answer) against calling the mock provider directly with a parsed request.
/// The difference is what the gateway adds to every request.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"mock-1","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the quarterly numbers in one sentence."}],"temperature":0,"max_tokens":64}""");
    private static readonly byte[] StreamBody = Encoding.UTF8.GetBytes(
        """{"model":"mock-1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Summarise the quarterly numbers in one sentence."}]}""");

    private static readonly byte[] StreamCachedBody = Encoding.UTF8.GetBytes(
        """{"model":"mock-1","stream":true,"temperature":0,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Summarise the quarterly numbers in one sentence."}]}""");

    private GatewayRuntime _runtime = null!;
    private MockProvider _provider = null!;
    private ProviderRequest _direct = null!;
    private ProviderRequest _directStream = null!;
    private BenchHeaders _headers = null!;
    private BenchHeaders _cachingHeaders = null!;

    [GlobalSetup]
    public void Setup()
    {
        var deployment = new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1", MockCompletionTokens = 16 };
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [deployment], Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }] },
        };
        var keys = new InMemoryKeyStore();
        _runtime = new GatewayRuntime(options, new BenchSecrets(), keys, _ => new HttpClient(), TimeProvider.System);
        var (_, key) = _runtime.Keys.CreateAsync(new CreateKeyRequest("bench", "u", "t", [], new Dictionary<string, string>()), default).GetAwaiter().GetResult();
        // the pipeline benchmarks bypass the response cache (their body has temperature 0); the cache-hit one uses it
        _headers = new BenchHeaders(key, "no-store");
        _cachingHeaders = new BenchHeaders(key);
        _provider = new MockProvider(deployment, TimeProvider.System);
        _direct = new ProviderRequest(ChatRequestParser.Parse(Body), deployment, "req");
        _directStream = new ProviderRequest(ChatRequestParser.Parse(StreamBody), deployment, "req");
    }

    [Benchmark(Baseline = true, Description = "mock provider, direct")]
    public async Task<long> Direct()
    {
        var completion = await _provider.CompleteAsync(_direct, default);
        using var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, completion.Body);
        return output.Length;
    }

    [Benchmark(Description = "full pipeline")]
    public Task<long> Pipeline() => GatewayCalls.CompleteAsync(_runtime, _headers, Body);

    [Benchmark(Description = "full pipeline, cache hit")]
    public Task<long> PipelineCacheHit() => GatewayCalls.CompleteAsync(_runtime, _cachingHeaders, Body);

    [Benchmark(Description = "mock provider stream, direct")]
    public async Task<long> DirectStream()
    {
        await using var stream = await _provider.OpenStreamAsync(_directStream, default);
        using var output = new MemoryStream();
        await ChatStreamWriter.WriteAsync(stream, output, includeUsage: true, default);
        return output.Length;
    }

    [Benchmark(Description = "full pipeline, stream")]
    public Task<long> PipelineStream() => GatewayCalls.StreamAsync(_runtime, _headers, StreamBody);

    [Benchmark(Description = "full pipeline, stream, cache hit (replayed)")]
    public Task<long> PipelineStreamCacheHit() => GatewayCalls.StreamAsync(_runtime, _cachingHeaders, StreamCachedBody);
}
