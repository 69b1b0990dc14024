using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Safety;

namespace Gateway.Core.Tests.Safety;

/// <summary>The simulation endpoint's rules: decisions and the redacted text for a policy, without a model.</summary>
public sealed class SafetySimulationTests
{
    [Fact]
    public void Text_is_evaluated_with_the_policy_in_force_or_one_given()
    {
        var inForce = Policies("pii-redact");
        var result = SafetySimulation.Simulate(new JsonObject { ["text"] = "mail a@example.com" }, inForce);
        Assert.Equal("pii-redact", (string?)result["policy"]);
        Assert.Equal("redact", (string?)result["action"]);
        Assert.Equal("mail <EMAIL_1>", (string?)result["redacted"]);
        var decision = result["decisions"]!.AsArray().Single()!;
        Assert.Equal("email", (string?)decision["detector"]);
        Assert.Equal(5, (int)decision["start"]!);

        var given = SafetySimulation.Simulate(JsonNode.Parse("""
            {"policy": {"name":"t","extends":"log-only","custom":[{"name":"codes","keywords":["kestrel"],"action":"block"}]},
             "messages": [{"role":"user","content":"about kestrel"},{"role":"user","content":"nothing"}]}
            """)!.AsObject(), inForce);
        Assert.Equal("t", (string?)given["policy"]);
        Assert.Equal("block", (string?)given["action"]);
        Assert.Equal("messages[0].content", (string?)given["decisions"]![0]!["field"]);
        Assert.Equal("nothing", (string?)given["redacted"]![1]!["content"]);
    }

    [Fact]
    public void Bad_input_is_a_400_naming_what_is_wrong()
    {
        var noPolicy = Assert.Throws<GatewayException>(() => SafetySimulation.Simulate(new JsonObject { ["text"] = "x" }, Policies(null)));
        Assert.Equal(("policy", 400), (noPolicy.Error.Param, noPolicy.Error.Status));
        var bad = Assert.Throws<GatewayException>(() => SafetySimulation.Simulate(new JsonObject { ["text"] = "x", ["policy"] = "paranoid" }, Policies(null)));
        Assert.Equal("invalid_policy", bad.Error.Code);
        var nothing = Assert.Throws<GatewayException>(() => SafetySimulation.Simulate(new JsonObject(), Policies("strict")));
        Assert.Equal("missing_required_parameter", nothing.Error.Code);
        var scope = Assert.Throws<GatewayException>(() => SafetySimulation.Simulate(new JsonObject { ["text"] = "x", ["team"] = 7 }, Policies("strict")));
        Assert.Equal(("team", "invalid_value"), (scope.Error.Param, scope.Error.Code));
    }

    [Fact]
    public void A_scope_is_evaluated_with_its_levels_composed_as_its_requests_get_them()
    {
        var options = new SafetyOptions { Policy = "log-only" };
        options.Teams["payments"] = "pii-redact";
        options.Keys["key_strict"] = "strict";
        var policies = new SafetyPoliciesHolder(options).Current;
        var text = new JsonObject { ["text"] = "mail a@example.com" };

        Assert.Equal("flag", (string?)SafetySimulation.Simulate(text.DeepClone().AsObject(), policies)["action"]);
        var team = SafetySimulation.Simulate(new JsonObject { ["text"] = "mail a@example.com", ["team"] = "payments" }, policies);
        Assert.Equal(("redact", "mail <EMAIL_1>"), ((string?)team["action"], (string?)team["redacted"]));
        var key = SafetySimulation.Simulate(new JsonObject { ["text"] = "mail a@example.com", ["team"] = "payments", ["key"] = "key_strict" }, policies);
        Assert.Equal("log-only+pii-redact+strict", (string?)key["policy"]);
    }

    private static SafetyPolicies Policies(string? global) => new SafetyPoliciesHolder(new SafetyOptions { Policy = global }).Current;
}
