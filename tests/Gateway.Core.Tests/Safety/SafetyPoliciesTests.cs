using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Safety;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>Policies by level: global, then team, then key; locked rules; conditions by model.</summary>
[Trait("Category", "Pipeline")]
public sealed class SafetyPoliciesTests
{
    private const string LockedGlobal = """{"name":"corp","extends":"baseline","rules":{"secret.aws":{"action":"block","locked":true},"email":{"action":"flag","locked":true}}}""";

    [Fact]
    public void A_team_or_key_may_tighten_a_locked_rule_but_a_configuration_that_loosens_one_is_refused_listing_each()
    {
        var ok = SafetyPolicies.Create(new SafetyOptions
        {
            Policy = LockedGlobal,
            Teams = { ["payments"] = """{"name":"payments","rules":{"email":"redact"}}""" },
        }, out var none);
        Assert.Empty(none);
        Assert.Equal(SafetyAction.Redact, ok.For("payments", "key_1", "m")!.Actions["email"]);
        Assert.Equal(SafetyAction.Flag, ok.For("research", "key_1", "m")!.Actions["email"]);

        SafetyPolicies.Create(new SafetyOptions
        {
            Policy = LockedGlobal,
            Teams = { ["lab"] = "log-only" },
            Keys = { ["key_9"] = """{"name":"k9","rules":{"secret.aws":"off"}}""" },
        }, out var problems);
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:Teams:lab: 'secret.aws' is locked at block by 'corp'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:Keys:key_9: 'secret.aws' is locked at block by 'corp' and may not be loosened to off", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:Keys:key_9 (under team 'lab')", StringComparison.Ordinal));
    }

    [Fact]
    public void A_key_policy_goes_over_its_teams_and_a_policy_limited_to_some_models_applies_to_those_only()
    {
        var policies = SafetyPolicies.Create(new SafetyOptions
        {
            Policy = "baseline",
            Teams = { ["payments"] = """{"name":"pay-4o","extends":"pii-redact","models":["gpt-4o"]}""" },
            Keys = { ["key_strict"] = "strict" },
        }, out var problems);
        Assert.Empty(problems);
        Assert.Equal(SafetyAction.Redact, policies.For("payments", "key_1", "gpt-4o")!.Actions["card"]);
        Assert.Equal(SafetyAction.Flag, policies.For("payments", "key_1", "gpt-4o-mini")!.Actions["card"]);
        Assert.Equal(SafetyAction.Block, policies.For("payments", "key_strict", "gpt-4o")!.Actions["card"]);
        Assert.Null(SafetyPolicies.Create(new SafetyOptions { Teams = { ["t"] = "strict" } }, out _).For("other", "key_1", "m"));
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task Through_the_pipeline_each_team_gets_its_own_policy()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
            Safety = new SafetyOptions { Policy = "log-only", Teams = { ["payments"] = "pii-redact" } },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, features: TestFeatures.Current);
        var (_, payments) = await runtime.Keys.CreateAsync(new CreateKeyRequest("p", null, "payments", [], new Dictionary<string, string>()), default);
        var (_, research) = await runtime.Keys.CreateAsync(new CreateKeyRequest("r", null, "research", [], new Dictionary<string, string>()), default);
        const string body = """{"model":"m","messages":[{"role":"user","content":"card 4111 1111 1111 1111"}]}""";
        upstream.Enqueue(new FakeReply { Text = "ok" });
        upstream.Enqueue(new FakeReply { Text = "ok" });

        var redacted = await GatewayRequests.SendAsync(runtime, new BearerHeaders(payments), body);
        var flagged = await GatewayRequests.SendAsync(runtime, new BearerHeaders(research), body);

        Assert.Equal("input: redact card=1", redacted.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Equal("input: flag card=1", flagged.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Equal("card <CARD_1>", (string?)JsonNode.Parse(upstream.Requests[0].Body)!["messages"]![0]!["content"]);
        Assert.Equal("card 4111 1111 1111 1111", (string?)JsonNode.Parse(upstream.Requests[1].Body)!["messages"]![0]!["content"]);
    }
}
