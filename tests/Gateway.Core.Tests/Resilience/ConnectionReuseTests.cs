using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Providers;
using Gateway.Testing;

namespace Gateway.Core.Tests.Resilience;

/// <summary>After warm-up, requests reuse pooled connections: none opens a new one.</summary>
[Trait("Category", "Pipeline")]
public sealed class ConnectionReuseTests
{
    [Fact]
    public async Task After_warm_up_no_request_opens_a_new_connection()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["oai"] }],
            },
        };
        using var handler = UpstreamHttp.CreateHandler(options.Http);
        using var http = UpstreamHttp.Configure(new HttpClient(handler, disposeHandler: false));
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => http, TimeProvider.System, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        var plain = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var stream = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        async Task Burst(int requests, int concurrency)
        {
            using var gate = new SemaphoreSlim(concurrency);
            await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var body = i % 3 == 0 ? stream : plain;
                    var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
                    var outcome = await runtime.ChatCompletions.HandleAsync(context);
                    Assert.Null(outcome.Error);
                    if (outcome.Result is GatewayResult.Streaming s)
                    {
                        await using var chunks = s.Stream;
                        while (await chunks.ReadAsync(default) is not null)
                        {
                        }
                    }

                    await context.CompleteAsync();
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        // warm-up above the load's concurrency: twelve slow answers are in flight together, so the pool opens twelve
        // connections. The load then runs eight at a time: a request that has finished may hand its connection back to
        // the pool a moment after the next one starts (seen on a busy machine), and the four spare connections cover
        // that lag, so a new connection would mean one was not reused at all.
        for (var i = 0; i < 12; i++) upstream.EnqueueFault(new Hang(TimeSpan.FromMilliseconds(300)));
        await Burst(12, 12);
        var warm = upstream.ConnectionIds.ToHashSet();
        Assert.Equal(12, warm.Count);

        await Burst(400, 8);
        Assert.Equal(412, upstream.RequestCount);
        Assert.Subset(warm, upstream.ConnectionIds.ToHashSet());
    }
}
