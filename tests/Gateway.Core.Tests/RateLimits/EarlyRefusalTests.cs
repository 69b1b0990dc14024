using System.Globalization;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.RateLimits;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.RateLimits;

/// <summary>A key over its rate limit is refused before its prompt is tokenized: a flood of large prompts costs no tokenizing.</summary>
[Trait("Category", "Pipeline")]
public sealed class EarlyRefusalTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-12-01T10:00:00Z", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_refusal_with_nothing_left_is_known_for_a_second_and_only_beyond_the_callers_wait()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, new RateLimitOptions { KeyRequestsPerMinute = 2 });
        var counters = gate.CountersFor("key_1", "m");
        Assert.Null(gate.KnownRefusal(counters, TimeSpan.Zero));
        Assert.True((await gate.AdmitAsync(counters, 10, TimeSpan.FromSeconds(1.5), default)).Allowed);
        Assert.True((await gate.AdmitAsync(counters, 10, TimeSpan.FromSeconds(1.5), default)).Allowed);
        var refused = await gate.AdmitAsync(counters, 10, TimeSpan.FromSeconds(1.5), default);
        Assert.False(refused.Allowed);

        var known = gate.KnownRefusal(counters, TimeSpan.Zero);
        Assert.NotNull(known);
        Assert.False(known.Allowed);
        Assert.Equal("key:key_1", known.RefusedBy);
        Assert.Equal(0, known.Status!.RemainingRequests);
        Assert.True(known.RetryAfter > TimeSpan.FromSeconds(20), $"{known.RetryAfter}");
        // a caller willing to wait past the counter's next room is asked about as before
        Assert.Null(gate.KnownRefusal(counters, TimeSpan.FromMinutes(1)));
        // another key, or the same key a second later, is asked about again
        Assert.Null(gate.KnownRefusal(gate.CountersFor("key_2", "m"), TimeSpan.Zero));
        time.Advance(RateLimitGate.RefusalKnownFor);
        Assert.Null(gate.KnownRefusal(counters, TimeSpan.Zero));
    }

    [Fact]
    public async Task A_request_too_large_for_the_limit_does_not_refuse_smaller_ones()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, new RateLimitOptions { KeyTokensPerMinute = 1000 });
        var counters = gate.CountersFor("key_1", "m");
        var large = await gate.AdmitAsync(counters, 5000, TimeSpan.FromSeconds(1.5), default);
        Assert.False(large.Allowed);
        Assert.True(large.TooLarge);
        Assert.Null(gate.KnownRefusal(counters, TimeSpan.Zero));
        Assert.True((await gate.AdmitAsync(counters, 10, TimeSpan.FromSeconds(1.5), default)).Allowed);
    }

    [FeatureFact(GatewayFeature.RateLimits)]
    public async Task Through_the_pipeline_a_key_over_its_limit_is_refused_before_the_cost_estimate_tokenizes_its_prompt()
    {
        var time = new FakeTimeProvider(Start);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "gpt-4o" }],
                Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["mock"] }],
            },
            RateLimits = new RateLimitOptions { KeyRequestsPerMinute = 1 },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), time, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        var prompt = new string('a', 50_000);
        var json = $$"""{"model":"gpt-4o","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":5}""";

        var first = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), json);
        Assert.Null(first.Outcome.Error);
        // the counter refuses the second: its prompt was estimated (tokenized) to be counted
        var second = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), json);
        Assert.Equal(429, second.Outcome.Error!.Status);
        Assert.True(second.Context.ResponseHeaders.ContainsKey(CostEstimateStage.EstimateHeader));
        // the third is refused from what the second learned: no estimate, so no tokenizing; same headers and Retry-After
        var third = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), json);
        Assert.Equal(429, third.Outcome.Error!.Status);
        Assert.Equal("rate_limit_exceeded", third.Outcome.Error.Code);
        Assert.Null(third.Context.CostEstimate);
        Assert.False(third.Context.ResponseHeaders.ContainsKey(CostEstimateStage.EstimateHeader));
        Assert.Equal("0", third.Context.ResponseHeaders["x-ratelimit-remaining-requests"]);
        Assert.True(third.Outcome.Error.RetryAfterSeconds > 1);
        // every request has its record, the refusals as 429s
        Assert.Equal([200, 429, 429], usage.Records.Select(r => r.Status).ToArray());
    }
}
