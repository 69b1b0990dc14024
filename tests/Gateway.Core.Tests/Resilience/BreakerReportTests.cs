using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Resilience;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace Gateway.Core.Tests.Resilience;

public sealed class BreakerReportTests
{
    [Fact]
    public async Task Every_catalog_deployment_is_listed_with_its_breaker_state_and_last_change()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
        var catalog = ModelCatalog.Create(new CatalogOptions
        {
            Deployments =
            [
                new DeploymentOptions { Name = "east", Provider = "mock", Model = "mock-1" },
                new DeploymentOptions { Name = "west", Provider = "mock", Model = "mock-1" },
                new DeploymentOptions { Name = "idle", Provider = "mock", Model = "mock-1" },
            ],
            Models =
            [
                new ModelOptions { Name = "m1", Deployments = ["east", "west"] },
                new ModelOptions { Name = "m2", Deployments = ["east", "idle"] },
            ],
        }, TestSecrets.None);
        var breakers = new DeploymentBreakers(new ResilienceOptions { MinimumThroughput = 2, FailureRatio = 0.5 }, time);
        await breakers.For("west").ExecuteAsync(_ => ValueTask.CompletedTask);
        for (var i = 0; i < 3; i++)
        {
            try
            {
                await breakers.For("east").ExecuteAsync<int>(_ => throw Errors.Errors.UpstreamError("mock", 503));
            }
            catch (GatewayException)
            {
            }
            catch (Polly.CircuitBreaker.BrokenCircuitException)
            {
            }
        }

        var json = BreakerReport.ToJson(catalog, breakers, "instance-1");
        Assert.Equal("instance-1", (string?)json["instance"]);
        var rows = json["deployments"]!.AsArray().ToDictionary(d => (string)d!["deployment"]!);
        Assert.Equal(["east", "idle", "west"], rows.Keys);
        Assert.Equal("open", (string?)rows["east"]!["state"]);
        Assert.Equal("open", (string?)rows["east"]!["last_change"]!["state"]);
        Assert.Equal(["m1", "m2"], rows["east"]!["models"]!.AsArray().Select(m => (string?)m));
        Assert.Equal("closed", (string?)rows["west"]!["state"]);
        Assert.True((bool)rows["west"]!["called"]!);
        Assert.False((bool)rows["idle"]!["called"]!);
        Assert.Null(rows["idle"]!["last_change"]);
    }
}
