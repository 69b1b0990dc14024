using System.Collections.Concurrent;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Resilience;
using Gateway.Testing;
using Polly.CircuitBreaker;
using Xunit.Abstractions;

namespace Gateway.Core.Tests.Resilience;

/// <summary>
/// Provider trouble against real sockets: deployment A (a fake OpenAI server) fails 30 % of requests — 429 with
/// Retry-After, 500, connection resets, hangs past the timeout — and deployment B is healthy.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class FaultInjectionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private FakeLlmServer _a = null!;
    private FakeLlmServer _b = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeLlmServer.StartAsync();
        _b = await FakeLlmServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Fact]
    public async Task Two_thousand_requests_succeed_through_a_failing_deployment_and_its_breaker_opens_and_closes_again()
    {
        _a.FaultPlan = new FaultPlan(0.3, [new RateLimited(1), new ServerError(500), new ConnectionReset(), new Hang(TimeSpan.FromSeconds(5))], Seed: 7);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", Endpoint = _a.BaseUri + "v1", ApiKeySetting = "K", TimeoutSeconds = 0.5 },
                    new DeploymentOptions { Name = "b", Provider = "openai", Model = "gpt-4o", Endpoint = _b.BaseUri + "v1", ApiKeySetting = "K", TimeoutSeconds = 5 },
                ],
                Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["a", "b"] }],
            },
            Resilience = new ResilienceOptions { MaxAttempts = 3, FailureRatio = 0.2, MinimumThroughput = 10, SamplingSeconds = 2, BreakSeconds = 1 },
        };
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => http, TimeProvider.System, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("load", null, null, [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}""");

        var attempts = new ConcurrentBag<int>();
        var failures = new ConcurrentBag<string>();
        async Task Run(int count)
        {
            using var gate = new SemaphoreSlim(32);
            await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
                    var outcome = await runtime.ChatCompletions.HandleAsync(context);
                    await context.CompleteAsync();
                    attempts.Add(context.Attempts);
                    if (outcome.Error is { } error) failures.Add($"{error.Status} {error.Code}");
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Run(2000);
        var faultyPhase = runtime.Breakers.Events.Where(e => e.Deployment == "a").ToList();

        // A recovers; after the break a probe succeeds and the breaker closes. On a loaded machine a healthy call can
        // still exceed A's 0.5 s timeout and reopen it, so a few more rounds are allowed for it to close.
        _a.FaultPlan = null;
        for (var round = 0; round == 0 || (round < 5 && runtime.Breakers.StateOf("a") != CircuitState.Closed); round++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            await Run(100);
        }

        var total = attempts.Count;
        var succeeded = total - failures.Count;
        output.WriteLine($"succeeded {succeeded} of {total}; failures: {string.Join(", ", failures.GroupBy(f => f).Select(g => $"{g.Key} ×{g.Count()}"))}; " +
            $"attempts: {string.Join(", ", attempts.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}; " +
            $"A served {_a.RequestCount} calls, B {_b.RequestCount}; breaker A: {string.Join(" → ", runtime.Breakers.Events.Where(e => e.Deployment == "a").Select(e => e.State))}");

        Assert.True(failures.Count * 1000 <= total, $"{failures.Count} of {total} failed"); // ≥ 99.9 %
        Assert.All(attempts, a => Assert.InRange(a, 1, 3));
        Assert.Contains(faultyPhase, e => e.State == CircuitState.Open);
        Assert.Equal(CircuitState.Closed, runtime.Breakers.StateOf("a"));
        Assert.Equal(CircuitState.Closed, runtime.Breakers.Events.Last(e => e.Deployment == "a").State);
        Assert.Equal(CircuitState.Closed, runtime.Breakers.StateOf("b"));
    }

    [Fact]
    public async Task Bad_requests_are_not_retried_and_a_short_retry_after_is_honoured_on_the_only_deployment()
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", Endpoint = _a.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["a"] }],
            },
            Resilience = new ResilienceOptions { MaxAttempts = 3, MaxRetryAfterSeconds = 2 },
        };
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => http, TimeProvider.System, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}""");

        async Task<(GatewayContext Context, ChatCompletionOutcome Outcome)> Send()
        {
            var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
            return (context, await runtime.ChatCompletions.HandleAsync(context));
        }

        _a.EnqueueFault(new BadRequest("no such parameter"));
        var (bad, badOutcome) = await Send();
        Assert.Equal(400, badOutcome.Error!.Status);
        Assert.Equal(1, bad.Attempts);
        Assert.Equal("a 400 upstream_invalid_request", bad.AttemptLog);

        _a.EnqueueFault(new RateLimited(1));
        var (limited, limitedOutcome) = await Send();
        Assert.Null(limitedOutcome.Error);
        Assert.Equal(2, limited.Attempts);
        Assert.Equal("a 429 rate_limit_exceeded; a 200", limited.ResponseHeaders[Gateway.Core.Pipeline.Stages.ProviderStage.AttemptLogHeader]);
        Assert.Equal("2", limited.ResponseHeaders[Gateway.Core.Pipeline.Stages.ProviderStage.AttemptsHeader]);

        // a Retry-After longer than the configured cap is passed on rather than waited out
        _a.EnqueueFault(new RateLimited(30));
        var (tooLong, tooLongOutcome) = await Send();
        Assert.Equal(429, tooLongOutcome.Error!.Status);
        Assert.Equal(30, tooLongOutcome.Error.RetryAfterSeconds);
        Assert.Equal(1, tooLong.Attempts);
    }
}
