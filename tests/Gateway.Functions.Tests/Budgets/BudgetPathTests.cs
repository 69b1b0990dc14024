using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Functions.Tests.Infrastructure;

namespace Gateway.Functions.Tests.Budgets;

/// <summary>The client cannot choose which budgets apply: the key's user, team and tags always do.</summary>
public sealed class BudgetPathTests
{
    private static async Task<(TestGateway Gateway, string Key)> GatewayWithStoppedBudget(BudgetScope scope)
    {
        var gateway = new TestGateway();
        var (_, key) = await gateway.Runtime.Keys.CreateAsync(
            new CreateKeyRequest("k", "alice", "team-a", [], new Dictionary<string, string> { ["project"] = "apollo" }), default);
        var admin = new BudgetAdministration(gateway.Runtime.Budgets);
        await admin.ConfigureAsync(new BudgetDefinition { Scope = scope, LimitUsd = 100m }, default);
        await admin.RunAsync(scope, BudgetOp.Stop, "frozen for the test", default);
        return (gateway, key);
    }

    private static async Task<(int Status, string Text)> ChatAsync(TestGateway gateway, string key, string body, IDictionary<string, string>? headers = null)
    {
        var context = TestGateway.Request("POST", "/v1/chat/completions", body, key, headers);
        await gateway.ChatAsync(context.Request);
        return (context.Response.StatusCode, TestGateway.ResponseText(context));
    }

    [Theory]
    [InlineData("""{"model":"mock-1","user":"mallory","messages":[{"role":"user","content":"hi"}]}""", null)]
    [InlineData("""{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", "mallory")]
    public async Task Naming_another_end_user_does_not_escape_the_keys_user_budget(string body, string? headerUser)
    {
        var (gateway, key) = await GatewayWithStoppedBudget(BudgetScope.ForUser("alice"));
        var headers = headerUser is null ? null : new Dictionary<string, string> { ["x-gateway-user"] = headerUser };
        var (status, text) = await ChatAsync(gateway, key, body, headers);
        Assert.Equal(429, status);
        Assert.Contains("budget_stopped", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_tag_cannot_change_the_keys_tag_to_escape_its_budget()
    {
        var (gateway, key) = await GatewayWithStoppedBudget(BudgetScope.ForTag("project", "apollo"));
        var (status, text) = await ChatAsync(gateway, key, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""",
            new Dictionary<string, string> { ["x-gateway-tags"] = "project=gemini,env=dev" });
        Assert.Equal(429, status);
        Assert.Contains("budget_stopped", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_named_end_user_adds_a_scope_of_its_own()
    {
        var (gateway, key) = await GatewayWithStoppedBudget(BudgetScope.ForUser("mallory"));
        var (ok, _) = await ChatAsync(gateway, key, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(200, ok);
        var (status, _) = await ChatAsync(gateway, key, """{"model":"mock-1","user":"mallory","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(429, status);
        // request tags still add tags of their own (recorded on the usage record)
        await ChatAsync(gateway, key, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", new Dictionary<string, string> { ["x-gateway-tags"] = "project=gemini,env=dev" });
        var last = gateway.UsageRecords[^1];
        Assert.Equal("apollo", last.Tags["project"]);
        Assert.Equal("dev", last.Tags["env"]);
    }

    [Fact]
    public async Task A_stopped_budget_refuses_a_request_with_nothing_to_reserve()
    {
        // a self-hosted model with no price: its estimate is zero, so nothing is reserved, but the stop still applies
        var gateway = new TestGateway(configure: o =>
        {
            o.Catalog.Deployments.Add(new Gateway.Core.Configuration.DeploymentOptions { Name = "local", Provider = "mock", Model = "my-local-llama" });
            o.Catalog.Models.Add(new Gateway.Core.Configuration.ModelOptions { Name = "llama", Deployments = ["local"] });
        });
        var (id, key) = await gateway.Runtime.Keys.CreateAsync(new CreateKeyRequest("k", "alice", "team-a", [], new Dictionary<string, string>()), default);
        const string body = """{"model":"llama","messages":[{"role":"user","content":"hi"}]}""";
        var (free, _) = await ChatAsync(gateway, key, body);
        Assert.Equal(200, free);

        var admin = new BudgetAdministration(gateway.Runtime.Budgets);
        await admin.ConfigureAsync(new BudgetDefinition { Scope = BudgetScope.ForTeam("team-a"), LimitUsd = 100m }, default);
        await admin.RunAsync(BudgetScope.ForTeam("team-a"), BudgetOp.Stop, "frozen", default);
        var (status, text) = await ChatAsync(gateway, key, body);
        Assert.Equal(429, status);
        Assert.Contains("budget_stopped", text, StringComparison.Ordinal);
        _ = id;
    }
}
