using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Configuration;
using Gateway.Core.Routing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Routing;

public sealed class DeploymentSelectorTests
{
    private static DeploymentOptions D(string name, int weight = 1, int priority = 0) =>
        new() { Name = name, Provider = ProviderKind.Mock, Weight = weight, Priority = priority };

    private static CatalogModel Model(params DeploymentOptions[] deployments) => new("m", [], deployments, ["fallback-model"], "x");

    /// <summary>A random source that returns the given values in turn and records the bounds it was asked for.</summary>
    private sealed class Scripted(params int[] values)
    {
        private int _next;
        public List<int> Bounds { get; } = [];

        public int Next(int maxExclusive)
        {
            Bounds.Add(maxExclusive);
            var v = values[_next++];
            Assert.InRange(v, 0, maxExclusive - 1);
            return v;
        }
    }

    [Fact]
    public void A_single_deployment_is_chosen_without_drawing()
    {
        var selector = new DeploymentSelector(_ => throw new InvalidOperationException("no draw expected"));
        var only = D("only", weight: 5, priority: 3);
        Assert.Same(only, selector.Select(Model(only)));
        Assert.Equal([only], selector.Ordered(Model(only)));
    }

    [Theory]
    [InlineData(0, "a")]
    [InlineData(1, "b")]
    [InlineData(3, "b")]
    [InlineData(4, "c")]
    [InlineData(5, "c")]
    public void The_draw_is_mapped_onto_cumulative_weights(int draw, string expected)
    {
        // weights a=1 [0], b=3 [1..3], c=2 [4..5]
        var scripted = new Scripted(draw, 0, 0);
        var selector = new DeploymentSelector(scripted.Next);
        Assert.Equal(expected, selector.Select(Model(D("a", 1), D("b", 3), D("c", 2))).Name);
        Assert.Equal(6, scripted.Bounds[0]);
    }

    [Fact]
    public void Ordered_draws_again_among_the_remaining_deployments()
    {
        var scripted = new Scripted(4, 0, 0);
        var selector = new DeploymentSelector(scripted.Next);
        var ordered = selector.Ordered(Model(D("a", 1), D("b", 3), D("c", 2)));
        Assert.Equal(["c", "a", "b"], ordered.Select(d => d.Name));
        Assert.Equal([6, 4, 3], scripted.Bounds);
    }

    [Fact]
    public void Lower_priority_numbers_come_first_whatever_their_weight()
    {
        var scripted = new Scripted(0, 0, 0, 0);
        var selector = new DeploymentSelector(scripted.Next);
        var ordered = selector.Ordered(Model(D("backup", 100, priority: 2), D("main-a", 1, priority: 0), D("spare", 50, priority: 1), D("main-b", 1, priority: 0)));
        Assert.Equal(["main-a", "main-b", "spare", "backup"], ordered.Select(d => d.Name));
        // only tiers with a choice to make draw: the first tier twice (2 then 1 left) and single-member tiers once each
        Assert.Equal([2, 1, 50, 100], scripted.Bounds);
    }

    [Fact]
    public void Select_always_picks_from_the_preferred_priority()
    {
        var selector = new DeploymentSelector(new System.Random(1234).Next);
        var model = Model(D("fallback", 1000, priority: 1), D("p0-a", 1), D("p0-b", 1));
        for (var i = 0; i < 500; i++) Assert.StartsWith("p0-", selector.Select(model).Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_split_traffic_proportionally_with_a_seeded_random()
    {
        var selector = new DeploymentSelector(new System.Random(42).Next);
        var model = Model(D("a", 1), D("b", 3), D("c", 6));
        const int draws = 20_000;
        var counts = Enumerable.Range(0, draws).Select(_ => selector.Select(model).Name).GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        // expected 2000 / 6000 / 12000; 4 standard deviations is under 200 for each
        Assert.InRange(counts["a"], 1800, 2200);
        Assert.InRange(counts["b"], 5800, 6200);
        Assert.InRange(counts["c"], 11800, 12200);
    }

    [Fact]
    public void Equal_weights_split_evenly()
    {
        var selector = new DeploymentSelector(new System.Random(7).Next);
        var model = Model(D("x"), D("y"));
        var x = Enumerable.Range(0, 10_000).Count(_ => selector.Select(model).Name == "x");
        Assert.InRange(x, 4800, 5200);
    }

    [Fact]
    public void The_default_selector_uses_a_shared_random_and_covers_every_deployment()
    {
        var selector = new DeploymentSelector();
        var model = Model(D("x"), D("y"), D("z"));
        var seen = Enumerable.Range(0, 300).Select(_ => selector.Select(model).Name).ToHashSet();
        Assert.Equal(["x", "y", "z"], seen.Order());
    }

    [Fact]
    public void The_model_keeps_its_fallbacks_for_the_caller()
    {
        Assert.Equal(["fallback-model"], Model(D("a")).Fallbacks);
    }

    [Property(MaxTest = 300)]
    public Property Ordered_is_a_priority_sorted_permutation_for_any_draws(NonEmptyArray<PositiveInt> weights, NonEmptyArray<byte> priorities, int seed)
    {
        var deployments = weights.Get.Select((w, i) => D("d" + i, Math.Min(w.Get, 1000), priorities.Get[i % priorities.Get.Length] % 4)).ToArray();
        var ordered = new DeploymentSelector(new System.Random(seed).Next).Ordered(Model(deployments));
        var samePermutation = ordered.Select(d => d.Name).Order().SequenceEqual(deployments.Select(d => d.Name).Order());
        var sortedByPriority = ordered.Zip(ordered.Skip(1)).All(p => p.First.Priority <= p.Second.Priority);
        return (samePermutation && sortedByPriority).Label($"{string.Join(",", ordered.Select(d => d.Name + "@" + d.Priority))}");
    }

    [Property(MaxTest = 200)]
    public bool Every_draw_in_range_selects_the_deployment_owning_that_slice(PositiveInt a, PositiveInt b, PositiveInt c, NonNegativeInt drawSeed)
    {
        var weights = new[] { a.Get % 50 + 1, b.Get % 50 + 1, c.Get % 50 + 1 };
        var total = weights.Sum();
        var draw = drawSeed.Get % total;
        var selector = new DeploymentSelector(max => max == total ? draw : 0);
        var chosen = selector.Select(Model(D("d0", weights[0]), D("d1", weights[1]), D("d2", weights[2])));
        var expected = draw < weights[0] ? "d0" : draw < weights[0] + weights[1] ? "d1" : "d2";
        return chosen.Name == expected;
    }

    [Fact]
    public void Weights_that_sum_past_int_max_value_still_select()
    {
        var catalog = new CatalogOptions
        {
            Deployments = [D("a", int.MaxValue), D("b", int.MaxValue)],
            Models = [new ModelOptions { Name = "m", Deployments = ["a", "b"] }],
        };
        var model = ModelCatalog.Create(catalog, TestSecrets.None).Resolve("m");
        var chosen = new DeploymentSelector(new System.Random(1).Next).Select(model);
        Assert.Contains(chosen.Name, new[] { "a", "b" });
    }
}
