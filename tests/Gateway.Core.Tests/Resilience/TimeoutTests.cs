using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Providers;
using Gateway.Testing;

namespace Gateway.Core.Tests.Resilience;

/// <summary>Per-deployment timeouts: first token (streams) and connect, each failing over before the client saw a byte.</summary>
[Trait("Category", "Pipeline")]
public sealed class TimeoutTests
{
    private static async Task<(GatewayRuntime Runtime, string Key)> Gateway(HttpClient http, params DeploymentOptions[] deployments)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [.. deployments], Models = [new ModelOptions { Name = "m", Deployments = [.. deployments.Select(d => d.Name)] }] },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 3 },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => http, TimeProvider.System, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, key);
    }

    private static async Task<(GatewayContext Context, ChatCompletionOutcome Outcome, string Text)> Stream(GatewayRuntime runtime, string key)
    {
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}""");
        Assert.Null(sent.StreamError);
        return (sent.Context, sent.Outcome, sent.Text);
    }

    [Fact]
    public async Task A_stream_whose_first_token_is_late_fails_over_before_the_client_saw_a_byte()
    {
        await using var slow = await FakeLlmServer.StartAsync();
        await using var fast = await FakeLlmServer.StartAsync();
        slow.FirstEventDelay = TimeSpan.FromSeconds(30); // headers at once, then nothing
        slow.Enqueue(new FakeReply { Text = "too-late" });
        fast.Enqueue(new FakeReply { Text = "from-b" });
        using var http = UpstreamHttp.Configure(new HttpClient(UpstreamHttp.CreateHandler(new UpstreamHttpOptions())));
        var (runtime, key) = await Gateway(http,
            new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", Endpoint = slow.BaseUri + "v1", ApiKeySetting = "K", Priority = 0, FirstTokenTimeoutSeconds = 0.5 },
            new DeploymentOptions { Name = "b", Provider = "openai", Model = "gpt-4o", Endpoint = fast.BaseUri + "v1", ApiKeySetting = "K", Priority = 1 });

        var (context, outcome, text) = await Stream(runtime, key);

        Assert.Null(outcome.Error);
        Assert.Contains("from-b", text, StringComparison.Ordinal);
        Assert.DoesNotContain("too-late", text, StringComparison.Ordinal);
        Assert.Equal(2, context.Attempts);
        Assert.Equal("b", context.ResponseHeaders[GatewayHeaders.Deployment]);
        // (whether A's server saw the request depends on how loaded the machine is: the limit counts from the request)
        Assert.Equal("a 504 upstream_timeout; b 200", context.ResponseHeaders[ProviderStage.AttemptLogHeader]);
    }

    [Fact]
    public async Task Once_the_first_token_arrived_a_slow_stream_is_not_cut_by_the_first_token_timeout()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        // the events after the first take 4 × 1.2 s, well past the 3 s first-token limit (which leaves a loaded machine
        // room to deliver the first event in time)
        upstream.ChunkDelay = TimeSpan.FromSeconds(1.2);
        upstream.Enqueue(new FakeReply { Text = "one two" });
        using var http = UpstreamHttp.Configure(new HttpClient(UpstreamHttp.CreateHandler(new UpstreamHttpOptions())));
        var (runtime, key) = await Gateway(http,
            new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K", FirstTokenTimeoutSeconds = 3 });

        var (context, outcome, text) = await Stream(runtime, key);

        Assert.Null(outcome.Error);
        Assert.Equal(1, context.Attempts);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Contains("two", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deployment_that_cannot_be_connected_to_in_its_connect_timeout_fails_over()
    {
        // a listener whose backlog is full: further connection attempts are not accepted, so connecting hangs
        using var full = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        full.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        full.Listen(0);
        var port = ((IPEndPoint)full.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try { s.Connect(IPAddress.Loopback, port); } catch (SocketException) { }
                fillers.Add(s);
            }

            await using var healthy = await FakeLlmServer.StartAsync();
            healthy.Enqueue(new FakeReply { Text = "from-b" });
            // the default connect timeout is long: only the deployment's own 0.5 s lets this finish (the guard below fails it otherwise)
            using var http = UpstreamHttp.Configure(new HttpClient(UpstreamHttp.CreateHandler(new UpstreamHttpOptions { ConnectTimeoutSeconds = 600 })));
            var (runtime, key) = await Gateway(http,
                new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", Endpoint = $"http://127.0.0.1:{port}/v1", ApiKeySetting = "K", Priority = 0, ConnectTimeoutSeconds = 0.5 },
                new DeploymentOptions { Name = "b", Provider = "openai", Model = "gpt-4o", Endpoint = healthy.BaseUri + "v1", ApiKeySetting = "K", Priority = 1 });

            var (context, outcome, text) = await Stream(runtime, key).WaitAsync(TimeSpan.FromSeconds(120));

            Assert.Null(outcome.Error);
            Assert.Contains("from-b", text, StringComparison.Ordinal);
            Assert.Equal("b", context.ResponseHeaders[GatewayHeaders.Deployment]);
            Assert.Equal(2, context.Attempts);
            Assert.Equal("a 502 upstream_error; b 200", context.AttemptLog);
        }
        finally
        {
            foreach (var s in fillers) s.Dispose();
        }
    }
}
