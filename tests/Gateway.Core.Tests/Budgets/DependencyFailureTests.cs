using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.RateLimits;
using Gateway.Testing;

namespace Gateway.Core.Tests.Budgets;

/// <summary>When the store behind budgets or rate limits cannot be reached, requests fail closed with a 503, never a 500.</summary>
[Trait("Category", "Pipeline")]
public sealed class DependencyFailureTests
{
    [FeatureFact(GatewayFeature.Budgets)]
    public Task An_unreachable_budget_store_is_a_503_and_nothing_is_sent_upstream() => Unreachable(budgets: true, "budgets_unavailable");

    [FeatureFact(GatewayFeature.RateLimits)]
    public Task An_unreachable_rate_limit_store_is_a_503_and_nothing_is_sent_upstream() => Unreachable(budgets: false, "rate_limits_unavailable");

    private static async Task Unreachable(bool budgets, string code)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" }],
                Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }],
            },
            // only the dependency under test is configured; a loaded test machine must not turn a wait into a 429
            RateLimits = budgets ? new RateLimitOptions() : new RateLimitOptions { KeyRequestsPerMinute = 10 },
            AdmissionTimeoutSeconds = 30,
        };
        var down = new TestEntityChannel(TimeProvider.System)
        {
            FailBefore = (_, _) => new TimeoutException("task hub unreachable"),
            ReadFailure = new TimeoutException("task hub unreachable"),
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System,
            budgets: budgets ? new BudgetGate(down, TimeProvider.System, new BudgetGateOptions()) : null,
            rateLimits: budgets ? null : new RateLimitGate(down, TimeProvider.System, options.RateLimits), features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        var body = Encoding.UTF8.GetBytes("""{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""");
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);

        var outcome = await runtime.ChatCompletions.HandleAsync(context);

        Assert.Equal(503, outcome.Error!.Status);
        Assert.Equal(code, outcome.Error.Code);
        Assert.Null(context.Deployment);
        Assert.DoesNotContain("task hub", outcome.Error.Message, StringComparison.Ordinal);
    }
}
