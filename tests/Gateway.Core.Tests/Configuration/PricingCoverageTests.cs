using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Configuration;

/// <summary>
/// Nothing is recorded at $0 by accident: a deployment the pricing catalog cannot price is refused at startup unless it
/// says it is free, a replacement pricing catalog may not leave one unpriced, and one price serves estimate and bill.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class PricingCoverageTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-01T00:00:00Z", CultureInfo.InvariantCulture);

    private static CatalogOptions Catalog(params DeploymentOptions[] deployments) => new()
    {
        Deployments = [.. deployments],
        Models = [new ModelOptions { Name = "m", Deployments = [.. deployments.Select(d => d.Name)] }],
    };

    private static DeploymentOptions Azure(string name, Action<DeploymentPricingOptions>? pricing = null)
    {
        var d = new DeploymentOptions { Name = name, Provider = "azure-openai", Model = name, Endpoint = "https://x.openai.azure.com", ApiVersion = "2024-10-21", Auth = "entra" };
        pricing?.Invoke(d.Pricing);
        return d;
    }

    private static DeploymentOptions SelfHosted(string name, Action<DeploymentPricingOptions>? pricing = null)
    {
        var d = new DeploymentOptions { Name = name, Provider = "openai-compatible", Model = "llama-3.3-70b", Endpoint = "http://127.0.0.1:9/v1" };
        pricing?.Invoke(d.Pricing);
        return d;
    }

    [Fact]
    public void Deployments_that_cannot_be_priced_are_refused_at_startup_each_named_with_the_ways_out()
    {
        var ex = Assert.Throws<CatalogException>(() => ModelCatalog.Create(
            Catalog(Azure("chat-prod"), SelfHosted("llama"), Azure("chat-typo", p => p.PriceAs = "gpt-4oo"), Azure("priced", p => p.PriceAs = "gpt-4o")),
            TestSecrets.None, PriceCatalog.Default, Now));
        Assert.Equal(3, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.StartsWith("Gateway:Catalog:Deployments:0 ('chat-prod'):Pricing", StringComparison.Ordinal) && e.Contains("model 'chat-prod' of provider 'azure-openai'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Gateway:Catalog:Deployments:1 ('llama')", StringComparison.Ordinal) && e.Contains("Pricing:Free", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Gateway:Catalog:Deployments:2 ('chat-typo')", StringComparison.Ordinal) && e.Contains("PriceAs 'gpt-4oo'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_deployment_that_says_it_is_free_or_gives_its_prices_is_accepted_and_free_is_never_combined_with_a_price()
    {
        var catalog = ModelCatalog.Create(Catalog(
                SelfHosted("free", p => p.Free = true),
                SelfHosted("own-prices", p => { p.Input = 0.2m; p.Output = 0.6m; }),
                Azure("as-4o", p => p.PriceAs = "gpt-4o"),
                new DeploymentOptions { Name = "mock", Provider = "mock" }),
            TestSecrets.None, PriceCatalog.Default, Now);
        Assert.Equal(4, catalog.Resolve("m").Deployments.Count);

        var ex = Assert.Throws<CatalogException>(() => ModelCatalog.Create(Catalog(Azure("both", p => { p.Free = true; p.PriceAs = "gpt-4o"; })), TestSecrets.None, PriceCatalog.Default, Now));
        Assert.Contains("either free or priced", Assert.Single(ex.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_free_deployment_is_recorded_at_zero_under_a_price_key_that_says_so()
    {
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default));
        var cost = meter.Cost(SelfHosted("llama", p => p.Free = true), new TokenUsage(1000, 500), Now);
        Assert.True(cost.Priced);
        Assert.Equal(0m, cost.CostUsd);
        Assert.Equal("openai-compatible/llama@free", cost.PriceKey);
    }

    [Fact]
    public async Task The_estimate_and_the_bill_use_the_same_price_whatever_model_the_provider_reports()
    {
        // gpt-4o answered as the May snapshot (5.00/15.00, dearer than gpt-4o's 2.50/10.00): the bill used to follow the
        // reported model and come out above the estimate budgets had reserved
        await using var upstream = await Gateway.Testing.FakeLlmServer.StartAsync();
        upstream.Enqueue(new Gateway.Testing.FakeReply { Text = "hi", Model = "gpt-4o-2024-05-13", PromptTokens = 9, CompletionTokens = 50 });
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", ApiKeySetting = "K", Endpoint = upstream.BaseUri + "v1" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":50}""");

        Assert.Null(sent.Outcome.Error);
        Assert.StartsWith("openai/gpt-4o@", sent.Context.Cost!.PriceKey, StringComparison.Ordinal);
        Assert.Equal((9 * 2.50m + 50 * 10.00m) / 1_000_000m, sent.Context.Cost.CostUsd);
        Assert.True(sent.Context.Cost.CostUsd <= sent.Context.CostEstimate!.MaxCostUsd, $"{sent.Context.Cost.CostUsd} > {sent.Context.CostEstimate.MaxCostUsd}");
    }

    [Fact]
    public async Task A_replacement_pricing_catalog_that_leaves_a_configured_deployment_unpriced_is_refused_and_the_old_one_stays()
    {
        var options = new GatewayOptions { Catalog = Catalog(Azure("chat-prod", p => p.PriceAs = "gpt-4o")) };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, features: TestFeatures.Current);
        var before = runtime.Prices.Current;
        var withoutAzure = JsonNode.Parse(before.Json)!.AsObject();
        withoutAzure["providers"]!.AsObject().Remove("azure-openai");

        var ex = Assert.Throws<PriceCatalogException>(() => runtime.Prices.Replace(withoutAzure.ToJsonString()));
        Assert.Contains("'chat-prod'", Assert.Single(ex.Errors), StringComparison.Ordinal);
        Assert.Same(before, runtime.Prices.Current);
        await Task.CompletedTask;
    }
}
