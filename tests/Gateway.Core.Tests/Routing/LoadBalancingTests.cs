using Gateway.Core.Configuration;
using Gateway.Core.Routing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Routing;

public sealed class LoadBalancingTests
{
    private static DeploymentOptions D(string name, int weight = 1, int priority = 0) => new() { Name = name, Provider = "mock", Model = "m", Weight = weight, Priority = priority };

    private static CatalogModel Model(string mode, params DeploymentOptions[] deployments) => new("m", [], deployments, [], "x") { LoadBalancing = mode };

    [Fact]
    public void Least_busy_prefers_the_deployment_with_fewest_requests_in_flight_per_unit_of_weight()
    {
        var selector = new DeploymentSelector();
        var (a, b, c) = (D("a"), D("b", weight: 4), D("c", priority: 1));
        var model = Model(LoadBalancing.LeastBusy, a, b, c);
        selector.Stats.Begin("a");
        selector.Stats.Begin("b");
        selector.Stats.Begin("b");
        // a: 1 in flight / weight 1; b: 2 / weight 4 → b first; c is a lower priority whatever its load
        Assert.Equal(["b", "a", "c"], selector.Ordered(model).Select(d => d.Name));
        selector.Stats.End("b", TimeSpan.FromMilliseconds(10), success: true);
        selector.Stats.End("b", TimeSpan.FromMilliseconds(10), success: true);
        selector.Stats.Begin("b");
        selector.Stats.Begin("b");
        selector.Stats.Begin("b");
        selector.Stats.Begin("b");
        selector.Stats.Begin("b");
        Assert.Equal(["a", "b", "c"], selector.Ordered(model).Select(d => d.Name));
    }

    [Fact]
    public void Latency_mode_measures_every_deployment_then_prefers_the_fastest()
    {
        var selector = new DeploymentSelector();
        var model = Model(LoadBalancing.Latency, D("slow"), D("fast"), D("new"));
        selector.Stats.Begin("slow");
        selector.Stats.End("slow", TimeSpan.FromMilliseconds(900), success: true);
        selector.Stats.Begin("fast");
        selector.Stats.End("fast", TimeSpan.FromMilliseconds(120), success: true);
        Assert.Equal(["new", "fast", "slow"], selector.Ordered(model).Select(d => d.Name));

        selector.Stats.Begin("new");
        selector.Stats.End("new", TimeSpan.FromMilliseconds(400), success: true);
        Assert.Equal(["fast", "new", "slow"], selector.Ordered(model).Select(d => d.Name));

        // the average moves with new samples (α = 0.2), and failures do not count as fast answers
        for (var i = 0; i < 20; i++)
        {
            selector.Stats.Begin("fast");
            selector.Stats.End("fast", TimeSpan.FromMilliseconds(2000), success: true);
            selector.Stats.Begin("slow");
            selector.Stats.End("slow", TimeSpan.FromMilliseconds(1), success: false);
        }

        Assert.Equal(["new", "slow", "fast"], selector.Ordered(model).Select(d => d.Name));
        Assert.Equal(0, selector.Stats.InFlight("fast"));
    }

    [Fact]
    public void Unknown_modes_are_refused_at_startup()
    {
        var options = new CatalogOptions
        {
            Deployments = [D("a")],
            Models = [new ModelOptions { Name = "m", Deployments = ["a"], LoadBalancing = "round-robin" }],
        };
        var errors = CatalogValidator.Validate(options, TestSecrets.None);
        Assert.Contains(errors, e => e.Contains("LoadBalancing 'round-robin' is not known", StringComparison.Ordinal));
    }
}
