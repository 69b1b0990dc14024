using System.Globalization;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.RateLimits;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.RateLimits;

/// <summary>What a caller refused by its rate limit is told: retrying helps one request, lowering max_tokens the other.</summary>
[Trait("Category", "Pipeline")]
public sealed class RateLimitStageTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-12-01T10:00:00Z", CultureInfo.InvariantCulture);

    private static string Body(int maxTokens) => $$"""{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}],"max_tokens":{{maxTokens}}}""";

    [FeatureFact(GatewayFeature.RateLimits)]
    public async Task A_request_larger_than_the_limit_is_told_to_lower_max_tokens_and_one_over_the_limit_to_retry()
    {
        var time = new FakeTimeProvider(Start);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "gpt-4o" }],
                Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["mock"] }],
            },
            RateLimits = new RateLimitOptions { KeyRequestsPerMinute = 1, KeyTokensPerMinute = 1000 },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), time, usage: new InMemoryUsageSink(), features: TestFeatures.Current);
        var (record, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);

        // more tokens up front than the limit allows in a minute: waiting would not help, so no Retry-After
        var tooLarge = (await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body(5000))).Outcome.Error!;
        Assert.Equal((429, "rate_limit_exceeded"), (tooLarge.Status, tooLarge.Code));
        Assert.EndsWith($"is larger than the rate limit 'key:{record.Id}' allows per minute; lower max_tokens.", tooLarge.Message);
        Assert.Null(tooLarge.RetryAfterSeconds);

        // nothing was counted for it: the next request is admitted, the one after it is over the limit of one a minute
        Assert.Null((await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body(5))).Outcome.Error);
        var over = (await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body(5))).Outcome.Error!;
        Assert.Equal((429, "rate_limit_exceeded"), (over.Status, over.Code));
        Assert.Equal($"Rate limit reached for 'key:{record.Id}'. Retry after the time given in Retry-After.", over.Message);
        Assert.Equal(60, over.RetryAfterSeconds);
    }
}
