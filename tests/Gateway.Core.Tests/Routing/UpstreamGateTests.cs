using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Routing;
using Microsoft.Extensions.Time.Testing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Routing;

/// <summary>Provider quotas per deployment: shared fairly among keys, failover to a deployment with capacity, refusal with Retry-After, stops.</summary>
[Trait("Category", "Pipeline")]
public sealed class UpstreamGateTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:10Z", System.Globalization.CultureInfo.InvariantCulture);

    private static DeploymentOptions Deployment(string name, long? rpm, long? tpm = null, int priority = 0, string provider = "mock") =>
        new()
        {
            Name = name, Provider = provider, Model = "mock-1", RequestsPerMinute = rpm, TokensPerMinute = tpm, Priority = priority,
            // an endpoint nothing listens on: a call that gets there fails, but the routing decision is visible first
            Endpoint = provider == "mock" ? null : "http://127.0.0.1:9/v1",
            Pricing = { Free = provider != "mock" },
        };

    [Fact]
    public async Task A_noisy_key_cannot_starve_a_quiet_one_on_a_shared_deployment()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new UpstreamGate(new TestEntityChannel(time), time, new UpstreamOptions());
        var shared = Deployment("shared", rpm: 100);

        // the quiet key has been active, then the noisy key floods the deployment
        Assert.True((await gate.AdmitAsync(shared, "quiet", 10, TimeSpan.FromSeconds(1.5), default)).Allowed);
        var noisy = 0;
        for (var i = 0; i < 500; i++)
        {
            if ((await gate.AdmitAsync(shared, "noisy", 10, TimeSpan.FromSeconds(1.5), default)).Allowed) noisy++;
        }

        var quiet = 1;
        for (var i = 0; i < 49; i++)
        {
            if ((await gate.AdmitAsync(shared, "quiet", 10, TimeSpan.FromSeconds(1.5), default)).Allowed) quiet++;
        }

        // two active keys: each is guaranteed 50 of the 100 a minute; the noisy key got no more than its share
        Assert.Equal(50, quiet);
        Assert.Equal(50, noisy);
    }

    [Fact]
    public async Task A_lone_key_may_use_the_whole_quota_and_nothing_more()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new UpstreamGate(new TestEntityChannel(time), time, new UpstreamOptions());
        var d = Deployment("solo", rpm: 30, tpm: 3000);
        var admitted = 0;
        for (var i = 0; i < 100; i++)
        {
            if ((await gate.AdmitAsync(d, "only", 50, TimeSpan.FromSeconds(1.5), default)).Allowed) admitted++;
        }

        Assert.Equal(30, admitted);
        var refused = await gate.AdmitAsync(d, "only", 50, TimeSpan.FromSeconds(1.5), default);
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(50), refused.RetryAfter); // the minute window ends at 10:01:00
    }

    private static async Task<(GatewayRuntime Runtime, string Key)> Runtime(TimeProvider time, double maxWaitSeconds, params DeploymentOptions[] deployments)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [.. deployments], Models = [new ModelOptions { Name = "mock-1", Deployments = [.. deployments.Select(d => d.Name)] }] },
            Upstream = new UpstreamOptions { MaxWaitSeconds = maxWaitSeconds },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 1 },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), time, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, key);
    }

    private sealed record Sent(GatewayError? Error, IDictionary<string, string> Headers);

    private static async Task<Sent> Send(GatewayRuntime runtime, string key)
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"mock-1","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""");
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, runtime.Time, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        await context.CompleteAsync();
        return new Sent(outcome.Error, context.ResponseHeaders);
    }

    [FeatureFact(GatewayFeature.ProviderQuotas)]
    public async Task A_deployment_at_its_quota_is_passed_over_for_the_next_and_then_the_request_is_refused_with_retry_after()
    {
        // a fixed clock: the quota windows are whole minutes, and this test must not straddle one
        var (runtime, key) = await Runtime(new FakeTimeProvider(Start), 0, Deployment("primary", rpm: 2), Deployment("secondary", rpm: 1, priority: 1));
        var served = new List<string>();
        Sent? last = null;
        for (var i = 0; i < 4; i++)
        {
            last = await Send(runtime, key);
            if (last.Error is null) served.Add(last.Headers["x-gateway-deployment"]);
        }

        Assert.Equal(["primary", "primary", "secondary"], served);
        Assert.Equal(429, last!.Error!.Status);
        Assert.Equal("rate_limit_exceeded", last.Error.Code);
        Assert.Equal(50, last.Error.RetryAfterSeconds); // the window ends at 10:01:00
    }

    [FeatureFact(GatewayFeature.ProviderQuotas)]
    public async Task Stopped_models_and_providers_are_refused_and_routing_avoids_a_stopped_provider()
    {
        var (runtime, key) = await Runtime(TimeProvider.System, 0, Deployment("a", rpm: null, provider: "mock"), Deployment("b", rpm: null, priority: 1, provider: "openai-compatible"));
        Assert.Equal("a", (await Send(runtime, key)).Headers["x-gateway-deployment"]);

        // (Invalidate stands for the instance's periodic re-read of the stop list)
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Provider, "mock", "incident 42"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        // the mock provider is stopped: its deployment is skipped for the next one
        var avoided = await Send(runtime, key);
        Assert.Equal("b", avoided.Headers["x-gateway-deployment"]);

        await runtime.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "mock-1", "runaway costs"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        var stopped = await Send(runtime, key);
        Assert.Equal(403, stopped.Error!.Status);
        Assert.Equal("model_stopped", stopped.Error.Code);
        Assert.Contains("runaway costs", stopped.Error.Message, StringComparison.Ordinal);

        await runtime.Upstream.ChangeStopsAsync(new StopCommand(false, StopTarget.Model, "mock-1"), TimeSpan.FromSeconds(5), default);
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(false, StopTarget.Provider, "mock"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        Assert.Null((await Send(runtime, key)).Error);
    }

    [Fact]
    public async Task A_stop_reaches_an_instance_at_its_next_refresh_of_the_stop_list()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new UpstreamGate(new TestEntityChannel(time), time, new UpstreamOptions { StopsRefreshSeconds = 5 });
        var admin = new UpstreamGate(gate.Counters.Channel, time, new UpstreamOptions());
        Assert.Null(await gate.StoppedAsync(StopTarget.Provider, "anthropic", default));
        await admin.ChangeStopsAsync(new StopCommand(true, StopTarget.Provider, "anthropic", "outage"), TimeSpan.FromSeconds(5), default);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Null(await gate.StoppedAsync(StopTarget.Provider, "anthropic", default));
        // at the refresh interval the list is re-read in the background (the request that noticed goes on with the old one)
        time.Advance(TimeSpan.FromSeconds(1));
        StopEntry? seen = null;
        for (var i = 0; i < 200 && seen is null; i++)
        {
            seen = await gate.StoppedAsync(StopTarget.Provider, "Anthropic", default);
            if (seen is null) await Task.Delay(5);
        }

        Assert.Equal("outage", seen?.Reason);
        // an instance idle for two intervals reads the list before it answers
        await admin.ChangeStopsAsync(new StopCommand(false, StopTarget.Provider, "anthropic"), TimeSpan.FromSeconds(5), default);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(await gate.StoppedAsync(StopTarget.Provider, "anthropic", default));
    }
}
