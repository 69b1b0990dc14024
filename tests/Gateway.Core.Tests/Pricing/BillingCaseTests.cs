using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Tests.Pricing;

/// <summary>
/// Hand-computed bills. Each expected amount is worked out in the comment from the published per-million prices
/// (tokens × price / 1,000,000), independently of the calculator; the calculator must agree exactly (and so to 1e-6 USD).
/// Anthropic cases start from Anthropic's own usage object, so its translation into OpenAI's shape is billed too.
/// </summary>
public sealed class BillingCaseTests
{
    public sealed record BillingCase(string Name, DeploymentOptions Deployment, string? ServedModel, string At, TokenUsage Usage, decimal ExpectedUsd,
        long MonthToDateTokens = 0)
    {
        public override string ToString() => Name;
    }

    private static DeploymentOptions Dep(string provider, string model, Action<DeploymentPricingOptions>? pricing = null)
    {
        var d = new DeploymentOptions { Name = $"{provider}-{model}", Provider = provider, Model = model };
        pricing?.Invoke(d.Pricing);
        return d;
    }

    private static TokenUsage OpenAi(int prompt, int completion, int cached = 0, int reasoning = 0) =>
        new(prompt, completion, cached, 0, reasoning);

    /// <summary>Anthropic's usage object → the gateway's usage, through the real translator.</summary>
    private static TokenUsage Anthropic(int input, int output, int cacheRead = 0, int cacheWrite5m = 0, int cacheWrite1h = 0) =>
        AnthropicTranslator.Usage(new JsonObject
        {
            ["input_tokens"] = input,
            ["output_tokens"] = output,
            ["cache_read_input_tokens"] = cacheRead,
            ["cache_creation_input_tokens"] = cacheWrite5m + cacheWrite1h,
            ["cache_creation"] = new JsonObject { ["ephemeral_5m_input_tokens"] = cacheWrite5m, ["ephemeral_1h_input_tokens"] = cacheWrite1h },
        });

    /// <summary>
    /// Every case, built afresh on each call. The theory's rows are the cases' names (strings, which xunit can
    /// serialise), so each case is a test case of its own — to the test runner, and to Stryker's coverage per test,
    /// which otherwise sees the whole table as one test and runs all of it for every mutant any row reaches.
    /// </summary>
    private static BillingCase[] All() =>
    [
        // ---- OpenAI ----
        // 1000 × 2.50 + 500 × 10.00 = 2500 + 5000 = 7500 / 1e6
        new("openai gpt-4o plain", Dep("openai", "gpt-4o"), "gpt-4o-2024-08-06", "2025-01-15T12:00:00Z", OpenAi(1000, 500), 0.0075m),
        // before the 2024-10-02 price cut: 1000 × 5.00 + 500 × 15.00 = 5000 + 7500 = 12500 / 1e6
        new("openai gpt-4o old price", Dep("openai", "gpt-4o"), "gpt-4o", "2024-08-01T00:00:00Z", OpenAi(1000, 500), 0.0125m),
        // 400 × 2.50 + 600 × 1.25 + 200 × 10.00 = 1000 + 750 + 2000 = 3750 / 1e6
        new("openai gpt-4o cached", Dep("openai", "gpt-4o"), "gpt-4o-2024-11-20", "2025-01-15T00:00:00Z", OpenAi(1000, 200, cached: 600), 0.00375m),
        // the May snapshot keeps its own price: 2000 × 5.00 + 300 × 15.00 = 10000 + 4500 = 14500 / 1e6
        new("openai gpt-4o-2024-05-13 snapshot", Dep("openai", "gpt-4o-2024-05-13"), "gpt-4o-2024-05-13", "2025-03-01T00:00:00Z", OpenAi(2000, 300), 0.0145m),
        // 11321 × 0.15 + 1024 × 0.075 + 678 × 0.60 = 1698.15 + 76.8 + 406.8 = 2181.75 / 1e6
        new("openai gpt-4o-mini cached", Dep("openai", "gpt-4o-mini"), "gpt-4o-mini-2024-07-18", "2025-02-01T00:00:00Z", OpenAi(12345, 678, cached: 1024), 0.00218175m),
        // 10000 × 2.00 + 40000 × 0.50 + 1500 × 8.00 = 20000 + 20000 + 12000 = 52000 / 1e6
        new("openai gpt-4.1 mostly cached", Dep("openai", "gpt-4.1"), "gpt-4.1-2025-04-14", "2025-05-01T00:00:00Z", OpenAi(50000, 1500, cached: 40000), 0.052m),
        // 1,000,000 × 0.10 = 100000 / 1e6
        new("openai gpt-4.1-nano a million in", Dep("openai", "gpt-4.1-nano"), null, "2025-05-01T00:00:00Z", OpenAi(1_000_000, 0), 0.10m),
        // o3 before the June 2025 cut, reasoning billed as output: 2000 × 10 + 5000 × 40 = 20000 + 200000 = 220000 / 1e6
        new("openai o3 reasoning old price", Dep("openai", "o3"), "o3-2025-04-16", "2025-05-01T00:00:00Z", OpenAi(2000, 5000, reasoning: 4000), 0.22m),
        // o3 after: 2000 × 2 + 5000 × 8 = 4000 + 40000 = 44000 / 1e6
        new("openai o3 reasoning new price", Dep("openai", "o3"), "o3-2025-04-16", "2025-07-01T00:00:00Z", OpenAi(2000, 5000, reasoning: 4000), 0.044m),
        // the new price is in force from midnight UTC of its date
        new("openai o3 first second of new price", Dep("openai", "o3"), "o3", "2025-06-10T00:00:00Z", OpenAi(2000, 5000, reasoning: 4000), 0.044m),
        new("openai o3 last second of old price", Dep("openai", "o3"), "o3", "2025-06-09T23:59:59Z", OpenAi(2000, 5000, reasoning: 4000), 0.22m),
        // 952 × 1.10 + 2048 × 0.275 + 1200 × 4.40 = 1047.2 + 563.2 + 5280 = 6890.4 / 1e6
        new("openai o4-mini cached reasoning", Dep("openai", "o4-mini"), "o4-mini-2025-04-16", "2025-06-01T00:00:00Z", OpenAi(3000, 1200, cached: 2048, reasoning: 1000), 0.0068904m),
        // 2000 × 1.25 + 8000 × 0.125 + 3000 × 10 = 2500 + 1000 + 30000 = 33500 / 1e6
        new("openai gpt-5 cached reasoning", Dep("openai", "gpt-5"), "gpt-5-2025-08-07", "2025-09-01T00:00:00Z", OpenAi(10000, 3000, cached: 8000, reasoning: 2500), 0.0335m),
        // 7 × 0.25 + 3 × 2.00 = 1.75 + 6 = 7.75 / 1e6
        new("openai gpt-5-mini tiny", Dep("openai", "gpt-5-mini"), "gpt-5-mini-2025-08-07", "2025-09-01T00:00:00Z", OpenAi(7, 3), 0.00000775m),
        // 1 × 0.05 + 1 × 0.40 = 0.45 / 1e6 (below a micro-dollar, kept exactly)
        new("openai gpt-5-nano one token each", Dep("openai", "gpt-5-nano"), null, "2025-09-01T00:00:00Z", OpenAi(1, 1), 0.00000045m),
        // 1500 × 15 + 10000 × 60 = 22500 + 600000 = 622500 / 1e6
        new("openai o1 long reasoning", Dep("openai", "o1"), "o1-2024-12-17", "2025-03-01T00:00:00Z", OpenAi(1500, 10000, reasoning: 9000), 0.6225m),
        // 1000 × 0.50 + 1000 × 1.50 = 500 + 1500 = 2000 / 1e6
        new("openai gpt-3.5-turbo", Dep("openai", "gpt-3.5-turbo"), "gpt-3.5-turbo-0125", "2025-01-01T00:00:00Z", OpenAi(1000, 1000), 0.002m),
        // batch: (1e6 × 2.50 + 1e6 × 10.00) / 1e6 × 0.5 = 12.5 × 0.5
        new("openai gpt-4o batch", Dep("openai", "gpt-4o", p => p.Batch = true), "gpt-4o", "2025-01-01T00:00:00Z", OpenAi(1_000_000, 1_000_000), 6.25m),
        // negotiated 20% off: (100000 × 0.40 + 10000 × 1.60) / 1e6 × 0.8 = (40000 + 16000) / 1e6 × 0.8 = 0.056 × 0.8
        new("openai gpt-4.1-mini discount", Dep("openai", "gpt-4.1-mini", p => p.Discount = 0.2m), null, "2025-05-01T00:00:00Z", OpenAi(100000, 10000), 0.0448m),

        // ---- Azure OpenAI ----
        // deployment named chat-prod priced as gpt-4o: 1000 × 2.50 + 500 × 10 = 7500 / 1e6
        new("azure deployment priced as gpt-4o", Dep("azure-openai", "chat-prod", p => p.PriceAs = "gpt-4o"), "gpt-4o-2024-11-20", "2025-02-01T00:00:00Z", OpenAi(1000, 500), 0.0075m),
        // cached tokens at the cached price: 2976 × 2.50 + 1024 × 1.25 + 700 × 10 = 7440 + 1280 + 7000 = 15720 / 1e6
        new("azure cached prompt", Dep("azure-openai", "prod-4o", p => p.PriceAs = "gpt-4o"), "gpt-4o-2024-11-20", "2025-02-01T00:00:00Z", OpenAi(4000, 700, cached: 1024), 0.01572m),
        // 2000 × 0.50 + 1000 × 1.50 = 1000 + 1500 = 2500 / 1e6
        new("azure gpt-35-turbo", Dep("azure-openai", "gpt-35-turbo"), "gpt-35-turbo", "2025-01-01T00:00:00Z", OpenAi(2000, 1000), 0.0025m),
        // 5000 × 1.10 + 20000 × 4.40 = 5500 + 88000 = 93500 / 1e6
        new("azure o3-mini reasoning", Dep("azure-openai", "reasoner", p => p.PriceAs = "o3-mini"), "o3-mini-2025-01-31", "2025-03-01T00:00:00Z", OpenAi(5000, 20000, reasoning: 18000), 0.0935m),
        // data zone prices as overrides: 500 × 2.75 + 500 × 1.375 + 100 × 11 = 1375 + 687.5 + 1100 = 3162.5 / 1e6
        new("azure data zone override", Dep("azure-openai", "eu-4o", p => { p.PriceAs = "gpt-4o"; p.Input = 2.75m; p.CachedInput = 1.375m; p.Output = 11m; }),
            "gpt-4o-2024-11-20", "2025-02-01T00:00:00Z", OpenAi(1000, 100, cached: 500), 0.0031625m),
        // 12M tokens this month reaches the 10M tier (25% off): (1e6 × 1.25 + 1e5 × 10) / 1e6 × 0.75 = 2.25 × 0.75
        new("azure gpt-5 volume tier 2", Dep("azure-openai", "gpt-5", p => p.VolumeTiers = [new() { FromMonthlyTokens = 1_000_000, Discount = 0.1m }, new() { FromMonthlyTokens = 10_000_000, Discount = 0.25m }]),
            "gpt-5-2025-08-07", "2025-10-01T00:00:00Z", OpenAi(1_000_000, 100_000), 1.6875m, MonthToDateTokens: 12_000_000),
        // below the first tier the deployment discount applies: 2.25 × 0.95
        new("azure gpt-5 below volume tiers", Dep("azure-openai", "gpt-5", p => { p.Discount = 0.05m; p.VolumeTiers = [new() { FromMonthlyTokens = 1_000_000, Discount = 0.1m }]; }),
            "gpt-5", "2025-10-01T00:00:00Z", OpenAi(1_000_000, 100_000), 2.1375m, MonthToDateTokens: 500_000),
        // 1000 × 0.15 + 1000 × 0.075 + 50 × 0.60 ... batch halves: (150 + 75 + 30) / 1e6 × 0.5 = 255 / 1e6 × 0.5
        new("azure gpt-4o-mini batch cached", Dep("azure-openai", "mini-batch", p => { p.PriceAs = "gpt-4o-mini"; p.Batch = true; }), null, "2025-01-01T00:00:00Z", OpenAi(2000, 50, cached: 1000), 0.0001275m),

        // ---- Anthropic ----
        // 1000 × 3 + 500 × 15 = 3000 + 7500 = 10500 / 1e6
        new("anthropic sonnet 4.5 plain", Dep("anthropic", "claude-sonnet-4-5-20250929"), "claude-sonnet-4-5-20250929", "2025-10-01T00:00:00Z", Anthropic(1000, 500), 0.0105m),
        // 200 × 3 + 10000 × 0.30 + 3000 × 3.75 + 800 × 15 = 600 + 3000 + 11250 + 12000 = 26850 / 1e6
        new("anthropic sonnet 4.5 cache read and 5m write", Dep("anthropic", "claude-sonnet-4-5"), "claude-sonnet-4-5-20250929", "2025-10-01T00:00:00Z",
            Anthropic(200, 800, cacheRead: 10000, cacheWrite5m: 3000), 0.02685m),
        // 100 × 3 + 1000 × 3.75 + 2000 × 6 + 100 × 15 = 300 + 3750 + 12000 + 1500 = 17550 / 1e6
        new("anthropic sonnet 4.5 1h cache write", Dep("anthropic", "claude-sonnet-4-5"), "claude-sonnet-4-5-20250929", "2025-10-01T00:00:00Z",
            Anthropic(100, 100, cacheWrite5m: 1000, cacheWrite1h: 2000), 0.01755m),
        // 210,000 input tokens > 200,000: all at long-context prices: 150000 × 6 + 60000 × 0.60 + 2000 × 22.50 = 900000 + 36000 + 45000 = 981000 / 1e6
        new("anthropic sonnet 4 long context", Dep("anthropic", "claude-sonnet-4-20250514"), "claude-sonnet-4-20250514", "2025-09-01T00:00:00Z",
            Anthropic(150000, 2000, cacheRead: 60000), 0.981m),
        // exactly 200,000 is not over the threshold: 200000 × 3 + 1000 × 15 = 600000 + 15000 = 615000 / 1e6
        new("anthropic sonnet 4 at the threshold", Dep("anthropic", "claude-sonnet-4-20250514"), "claude-sonnet-4-20250514", "2025-09-01T00:00:00Z",
            Anthropic(200000, 1000), 0.615m),
        // long context with writes: 190000 × 6 + 20000 × 7.50 + 5000 × 12 + 4000 × 22.50 = 1140000 + 150000 + 60000 + 90000 = 1440000 / 1e6
        new("anthropic sonnet 4.5 long context cache writes", Dep("anthropic", "claude-sonnet-4-5"), "claude-sonnet-4-5-20250929", "2025-10-01T00:00:00Z",
            Anthropic(190000, 4000, cacheWrite5m: 20000, cacheWrite1h: 5000), 1.44m),
        // thinking is in output_tokens: 2000 × 15 + 1000 × 75 = 30000 + 75000 = 105000 / 1e6
        new("anthropic opus 4.1 thinking", Dep("anthropic", "claude-opus-4-1-20250805"), "claude-opus-4-1-20250805", "2025-09-01T00:00:00Z", Anthropic(2000, 1000), 0.105m),
        // 3000 × 5 + 20000 × 0.50 + 5000 × 6.25 + 2500 × 25 = 15000 + 10000 + 31250 + 62500 = 118750 / 1e6
        new("anthropic opus 4.5 caching", Dep("anthropic", "claude-opus-4-5"), "claude-opus-4-5-20251101", "2025-12-01T00:00:00Z",
            Anthropic(3000, 2500, cacheRead: 20000, cacheWrite5m: 5000), 0.11875m),
        // 123 × 1 + 45 × 5 = 123 + 225 = 348 / 1e6
        new("anthropic haiku 4.5", Dep("anthropic", "claude-haiku-4-5"), "claude-haiku-4-5-20251001", "2025-11-01T00:00:00Z", Anthropic(123, 45), 0.000348m),
        // 1000 × 0.80 + 4000 × 0.08 + 2000 × 1.00 + 300 × 4 = 800 + 320 + 2000 + 1200 = 4320 / 1e6
        new("anthropic haiku 3.5 caching", Dep("anthropic", "claude-3-5-haiku-20241022"), "claude-3-5-haiku-20241022", "2025-03-01T00:00:00Z",
            Anthropic(1000, 300, cacheRead: 4000, cacheWrite5m: 2000), 0.00432m),
        // 10000 × 0.25 + 10000 × 1.25 = 2500 + 12500 = 15000 / 1e6
        new("anthropic haiku 3", Dep("anthropic", "claude-3-haiku-20240307"), "claude-3-haiku-20240307", "2025-01-01T00:00:00Z", Anthropic(10000, 10000), 0.015m),
        // batch: (100000 × 3 + 100000 × 15) / 1e6 × 0.5 = (300000 + 1500000) / 1e6 × 0.5 = 1.8 × 0.5
        new("anthropic sonnet 4.5 batch", Dep("anthropic", "claude-sonnet-4-5", p => p.Batch = true), null, "2025-10-01T00:00:00Z", Anthropic(100_000, 100_000), 0.9m),
        // batch over the long-context threshold: (1e6 × 6 + 1e6 × 22.50) / 1e6 × 0.5 = 28.5 × 0.5
        new("anthropic sonnet 4.5 batch long context", Dep("anthropic", "claude-sonnet-4-5", p => p.Batch = true), null, "2025-10-01T00:00:00Z", Anthropic(1_000_000, 1_000_000), 14.25m),
        // Opus has no long-context tier: 250000 × 15 + 1000 × 75 = 3,750,000 + 75,000 = 3,825,000 / 1e6
        new("anthropic opus 4 no long-context tier", Dep("anthropic", "claude-opus-4-20250514"), "claude-opus-4-20250514", "2025-09-01T00:00:00Z", Anthropic(250000, 1000), 3.825m),
        // explicit prices replace the tier: 250000 × 3 + 1000 × 15 = 750000 + 15000 = 765000 / 1e6
        new("anthropic negotiated flat price", Dep("anthropic", "claude-sonnet-4-5", p => { p.Input = 3m; p.Output = 15m; }), null, "2025-10-01T00:00:00Z", Anthropic(250000, 1000), 0.765m),

        // ---- Self-hosted, priced by overrides only ----
        // 10000 × 0.20 + 5000 × 0.60 = 2000 + 3000 = 5000 / 1e6
        new("openai-compatible own price", Dep("openai-compatible", "llama-3.3-70b", p => { p.Input = 0.2m; p.Output = 0.6m; }), "llama-3.3-70b", "2025-01-01T00:00:00Z", OpenAi(10000, 5000), 0.005m),
    ];

    public static TheoryData<string> Cases() => new(All().Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Computed_cost_equals_the_bill(string name)
    {
        var c = All().Single(x => x.Name == name);
        var volume = new InMemoryVolumeTracker();
        var at = DateTimeOffset.Parse(c.At, CultureInfo.InvariantCulture);
        if (c.MonthToDateTokens > 0) volume.Add(c.Deployment.Name, at, c.MonthToDateTokens);
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default), volume);

        var cost = meter.Cost(c.Deployment, c.Usage, at);

        Assert.True(cost.Priced);
        Assert.NotNull(cost.PriceKey);
        Assert.True(Math.Abs(cost.CostUsd - c.ExpectedUsd) <= 0.000001m, $"{c.Name}: {cost.CostUsd} vs {c.ExpectedUsd}");
        Assert.Equal(c.ExpectedUsd, cost.CostUsd); // decimal arithmetic is exact: no drift at all
    }

    [Fact]
    public void There_are_at_least_thirty_cases_across_all_three_providers()
    {
        var cases = All();
        Assert.True(cases.Length >= 30);
        Assert.Equal(cases.Length, cases.Select(c => c.Name).Distinct().Count()); // a row is found by its name
        Assert.True(cases.Count(c => c.Deployment.Provider == "openai") >= 10);
        Assert.True(cases.Count(c => c.Deployment.Provider == "azure-openai") >= 5);
        Assert.True(cases.Count(c => c.Deployment.Provider == "anthropic") >= 10);
    }

    [Fact]
    public void Price_keys_name_the_entry_used_and_the_tier()
    {
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default));
        var at = DateTimeOffset.Parse("2025-10-01T00:00:00Z", CultureInfo.InvariantCulture);
        Assert.Equal("openai/gpt-4o@2024-10-02", meter.Cost(Dep("openai", "gpt-4o"), OpenAi(1, 1), at).PriceKey);
        Assert.Equal("anthropic/claude-sonnet-4-5@2025-09-29+long-context",
            meter.Cost(Dep("anthropic", "claude-sonnet-4-5"), Anthropic(200_001, 1), at).PriceKey);
        Assert.Equal("azure-openai/gpt-4o@2024-10-02+override",
            meter.Cost(Dep("azure-openai", "x", p => { p.PriceAs = "gpt-4o"; p.Output = 1m; }), OpenAi(1, 1), at).PriceKey);
    }

    [Fact]
    public void Unknown_models_cost_nothing_and_say_they_are_unpriced()
    {
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default));
        var cost = meter.Cost(Dep("openai-compatible", "my-llama"), OpenAi(1000, 1000), DateTimeOffset.UtcNow);
        Assert.False(cost.Priced);
        Assert.Equal(0m, cost.CostUsd);
        Assert.Null(cost.PriceKey);
        // a model used before its first listed price has no price in force either
        Assert.False(meter.Cost(Dep("openai", "gpt-5"), OpenAi(1, 1), DateTimeOffset.Parse("2025-01-01T00:00:00Z", CultureInfo.InvariantCulture)).Priced);
    }

    [Fact]
    public void Volume_counts_accumulate_per_deployment_and_month_so_the_next_request_gets_the_tier()
    {
        var volume = new InMemoryVolumeTracker();
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default), volume);
        var d = Dep("openai", "gpt-4.1-nano", p => p.VolumeTiers = [new() { FromMonthlyTokens = 1_000_000, Discount = 0.5m }]);
        var at = DateTimeOffset.Parse("2025-05-31T23:00:00Z", CultureInfo.InvariantCulture);
        // first request: 1,000,000 tokens at list (0.10); it brings the month to the tier
        Assert.Equal(0.10m, meter.Cost(d, OpenAi(1_000_000, 0), at).CostUsd);
        Assert.Equal(0.05m, meter.Cost(d, OpenAi(1_000_000, 0), at).CostUsd);
        // a new month starts from zero
        Assert.Equal(0.10m, meter.Cost(d, OpenAi(1_000_000, 0), at.AddHours(2)).CostUsd);
        Assert.Equal(3_000_000 - 1_000_000, volume.MonthToDate(d.Name, at));
    }
}
