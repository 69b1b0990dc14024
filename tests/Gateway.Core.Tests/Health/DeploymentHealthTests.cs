using Gateway.Core.Configuration;
using Gateway.Core.Health;
using Gateway.Core.Resilience;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;

namespace Gateway.Core.Tests.Health;

public sealed class DeploymentHealthTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private static ModelCatalog Catalog() => ModelCatalog.Create(new CatalogOptions
    {
        Deployments =
        [
            new DeploymentOptions { Name = "east", Provider = "openai", Model = "gpt-4o", Endpoint = "https://east.example.com/v1", ApiKeySetting = "EAST_KEY" },
            new DeploymentOptions { Name = "west", Provider = "mock", Model = "mock-1" },
            new DeploymentOptions { Name = "idle", Provider = "mock", Model = "mock-1" },
        ],
        Models =
        [
            new ModelOptions { Name = "m1", Deployments = ["east", "west"] },
            new ModelOptions { Name = "m2", Deployments = ["east", "idle"] },
        ],
    }, TestSecrets.Upstream);

    [Fact]
    public async Task Each_deployment_appears_once_by_name_with_its_circuit_as_this_instance_knows_it()
    {
        var time = new FakeTimeProvider(Start);
        var breakers = new DeploymentBreakers(new ResilienceOptions { MinimumThroughput = 2, FailureRatio = 0.5, BreakSeconds = 15 }, time);
        await breakers.For("west").ExecuteAsync(_ => ValueTask.CompletedTask);
        time.Advance(TimeSpan.FromSeconds(5));
        await BreakerFailures.OpenAsync(breakers, "east");

        var deployments = DeploymentHealth.Of(Catalog(), breakers).ToDictionary(d => d.Name);

        Assert.Equal(["east", "idle", "west"], deployments.Keys);
        Assert.Equal(new DeploymentHealth("east", HealthStatus.Degraded, "open",
            "circuit open since 2026-11-25T10:00:05Z: requests go to other deployments until a probe call succeeds"), deployments["east"]);
        Assert.Equal(new DeploymentHealth("west", HealthStatus.Healthy, "closed", "circuit closed"), deployments["west"]);
        Assert.Equal(new DeploymentHealth("idle", HealthStatus.Healthy, "closed", "circuit closed; not called yet on this instance"), deployments["idle"]);
    }

    [Fact]
    public async Task A_circuit_past_its_break_is_half_open_and_still_degraded_and_closed_again_after_a_good_call()
    {
        var time = new FakeTimeProvider(Start);
        var breakers = new DeploymentBreakers(new ResilienceOptions { MinimumThroughput = 2, FailureRatio = 0.5, BreakSeconds = 15 }, time);
        await BreakerFailures.OpenAsync(breakers, "east");
        time.Advance(TimeSpan.FromSeconds(15));
        var probing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = breakers.For("east").ExecuteAsync(async _ => await probing.Task).AsTask();

        var halfOpen = DeploymentHealth.Of(Catalog(), breakers).Single(d => d.Name == "east");
        Assert.Equal(HealthStatus.Degraded, halfOpen.Status);
        Assert.Equal("half_open", halfOpen.Breaker);
        // Polly tells the breakers of the change just after making it: until then the open circuit's time is not shown as this state's
        Assert.Matches("^circuit half-open( since 2026-11-25T10:00:15Z)?: a probe call is testing it$", halfOpen.Detail);

        probing.SetResult();
        await call;
        Assert.True(SpinWait.SpinUntil(() => breakers.Events[^1].State == CircuitState.Closed, TimeSpan.FromSeconds(10)));
        time.Advance(TimeSpan.FromSeconds(1));
        var closed = DeploymentHealth.Of(Catalog(), breakers).Single(d => d.Name == "east");
        Assert.Equal(HealthStatus.Healthy, closed.Status);
        Assert.Equal("circuit closed since 2026-11-25T10:00:15Z", closed.Detail);
    }

    [Fact]
    public async Task Nothing_about_a_deployment_but_its_name_and_circuit_is_shown()
    {
        var time = new FakeTimeProvider(Start);
        var breakers = new DeploymentBreakers(new ResilienceOptions { MinimumThroughput = 2 }, time);
        await BreakerFailures.OpenAsync(breakers, "east");

        var json = ReadinessReport.Create([], DeploymentHealth.Of(Catalog(), breakers), Start).ToJson().ToJsonString();

        foreach (var hidden in new[] { "east.example.com", "EAST_KEY", "sk-upstream-test", "openai", "gpt-4o", "m1" })
            Assert.DoesNotContain(hidden, json, StringComparison.Ordinal);
    }
}
