using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Routing;

/// <summary>A key limited to some models is never answered by a fallback it may not use.</summary>
public sealed class FallbackPermissionTests
{
    private static GatewayRuntime Runtime() => new(new GatewayOptions
    {
        Catalog = new CatalogOptions
        {
            Deployments =
            [
                // nothing listens on the discard port: the primary fails at once
                new DeploymentOptions { Name = "down", Provider = "openai-compatible", Model = "gpt-4o", Endpoint = "http://127.0.0.1:9/v1", Pricing = { Free = true } },
                new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" },
            ],
            Models = [new ModelOptions { Name = "fail-1", Deployments = ["down"], Fallbacks = ["fast-1"] }, new ModelOptions { Name = "fast-1", Deployments = ["mock"] }],
        },
        Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 2 },
    }, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System);

    private static async Task<(GatewayContext Context, ChatCompletionOutcome Outcome)> SendAsync(GatewayRuntime runtime, params string[] allowed)
    {
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", allowed, new Dictionary<string, string>()), default);
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"fail-1","messages":[{"role":"user","content":"hello"}]}""");
        return (sent.Context, sent.Outcome);
    }

    [Fact]
    public async Task A_fallback_the_key_may_not_use_is_skipped_and_the_request_fails_as_without_fallbacks()
    {
        var (context, outcome) = await SendAsync(Runtime(), "fail-1");
        Assert.NotNull(outcome.Error);
        Assert.True(outcome.Error.Status >= 500, outcome.Error.ToString());
        Assert.False(context.ResponseHeaders.ContainsKey(ProviderStage.FallbackHeader));
    }

    [Fact]
    public async Task A_fallback_the_key_may_use_still_answers()
    {
        var (context, outcome) = await SendAsync(Runtime(), "fail-1", "fast-1");
        Assert.Null(outcome.Error);
        Assert.Equal("fast-1", context.ResponseHeaders[ProviderStage.FallbackHeader]);

        // and a key with no model list may use every model
        var (unrestricted, answered) = await SendAsync(Runtime());
        Assert.Null(answered.Error);
        Assert.Equal("fast-1", unrestricted.ResponseHeaders[ProviderStage.FallbackHeader]);
    }
}

/// <summary>The pre-call estimate covers every model that may answer, fallbacks included.</summary>
public sealed class FallbackEstimateTests
{
    private static GatewayRuntime Runtime() => new(new GatewayOptions
    {
        Catalog = new CatalogOptions
        {
            Deployments =
            [
                new DeploymentOptions { Name = "mini", Provider = "mock", Model = "gpt-4o-mini", Pricing = new DeploymentPricingOptions { Input = 0.15m, Output = 0.6m } },
                new DeploymentOptions { Name = "big", Provider = "mock", Model = "gpt-4o", Pricing = new DeploymentPricingOptions { Input = 2.5m, Output = 10m } },
            ],
            Models = [new ModelOptions { Name = "cheap", Deployments = ["mini"], Fallbacks = ["dear"] }, new ModelOptions { Name = "dear", Deployments = ["big"] }],
        },
    }, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System);

    private static async Task<decimal> EstimateAsync(GatewayRuntime runtime, string model, params string[] allowed)
    {
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", allowed, new Dictionary<string, string>()), default);
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), $$"""{"model":"{{model}}","max_tokens":500,"messages":[{"role":"user","content":"summarise the quarter"}]}""");
        Assert.Null(sent.Outcome.Error);
        return decimal.Parse(sent.Context.ResponseHeaders[CostEstimateStage.EstimateHeader], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_request_that_may_fall_back_to_a_dearer_model_is_estimated_at_the_dearer_price()
    {
        var runtime = Runtime();
        var dear = await EstimateAsync(runtime, "dear");
        var cheapAlone = await EstimateAsync(runtime, "cheap", "cheap");
        Assert.True(dear > cheapAlone, $"{dear} vs {cheapAlone}");
        Assert.Equal(dear, await EstimateAsync(runtime, "cheap"));
    }
}
