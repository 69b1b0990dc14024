using System.Text.Json.Nodes;
using Gateway.Core.Budgets;
using Gateway.Core.Routing;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Core.Entities;
using Gateway.Functions.Upstream;

namespace Gateway.Functions.Tests.Budgets;

/// <summary>Emergency stops for models and providers through the admin functions and the real stops entity class.</summary>
public sealed class StopsFunctionsTests
{
    [Fact]
    public async Task A_model_can_be_stopped_and_resumed_through_the_admin_api()
    {
        var gateway = new TestGateway();
        var functions = new StopsFunctions(gateway.Runtime, new StopAdministration(gateway.Runtime.Upstream, TimeProvider.System));
        var key = await gateway.CreateKeyAsync();

        async Task<(int Status, JsonObject Body)> Admin(Func<Microsoft.AspNetCore.Http.HttpRequest, Task<Microsoft.AspNetCore.Mvc.IActionResult>> call, string method, string? body = null)
        {
            var context = TestGateway.Request(method, "/gateway/stops", body, headers: new Dictionary<string, string> { ["x-admin-key"] = TestGateway.AdminKey });
            await call(context.Request);
            return (context.Response.StatusCode, JsonNode.Parse(TestGateway.ResponseText(context))!.AsObject());
        }

        async Task<(int Status, string Text)> Chat()
        {
            var context = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", key);
            await gateway.Chat.Run(context.Request);
            return (context.Response.StatusCode, TestGateway.ResponseText(context));
        }

        var (status, stopped) = await Admin(r => functions.Put(r, "model", "mock-1"), "PUT", """{"reason":"incident 7","until":"2099-01-01T00:00:00Z"}""");
        Assert.Equal(200, status);
        var entry = Assert.Single(stopped["data"]!.AsArray())!;
        Assert.Equal(("model", "mock-1", "incident 7"), ((string?)entry["target"], (string?)entry["name"], (string?)entry["reason"]));

        var (chatStatus, text) = await Chat();
        Assert.Equal(403, chatStatus);
        Assert.Equal("model_stopped", (string?)JsonNode.Parse(text)!["error"]!["code"]);
        // another model is unaffected
        var other = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-2","messages":[{"role":"user","content":"hi"}]}""", key);
        await gateway.Chat.Run(other.Request);
        Assert.Equal(200, other.Response.StatusCode);

        Assert.Equal(400, (await Admin(r => functions.Put(r, "model", "mock-1"), "PUT", """{"until":"yesterday"}""")).Status);
        Assert.Equal(404, (await Admin(r => functions.Put(r, "planet", "earth"), "PUT")).Status);
        Assert.Equal(200, (await Admin(r => functions.Delete(r, "model", "mock-1"), "DELETE")).Status);
        Assert.Empty((await Admin(r => functions.List(r), "GET")).Body["data"]!.AsArray());
        Assert.Equal(200, (await Chat()).Status);
    }

    [Fact]
    public async Task The_stops_entity_applies_changes_to_its_state()
    {
        var channel = new EntityHostChannel(TimeProvider.System);
        var gate = new UpstreamGate(channel, TimeProvider.System, new UpstreamOptions());
        var state = await gate.ChangeStopsAsync(new StopCommand(true, StopTarget.Provider, "anthropic", "outage"), TimeSpan.FromSeconds(5), default);
        Assert.NotNull(StopList.Find(state, StopTarget.Provider, "ANTHROPIC", DateTimeOffset.UtcNow));
        Assert.NotNull(StopList.Find(await gate.ReadStopsAsync(default), StopTarget.Provider, "anthropic", DateTimeOffset.UtcNow));
        state = await gate.ChangeStopsAsync(new StopCommand(false, StopTarget.Provider, "anthropic"), TimeSpan.FromSeconds(5), default);
        Assert.Empty(state.Entries);
    }

    [Fact]
    public async Task A_stop_list_stored_before_entities_had_envelopes_is_still_read()
    {
        // the stops entity used to store the list itself as its state
        var legacy = new EntityEnvelope
        {
            Other = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(
                """{"Entries":{"provider:anthropic":{"Reason":"outage","StoppedAt":"2026-11-25T10:00:00+00:00","Until":null}}}"""),
        };
        var after = StopsEntityKind.Instance.Apply(legacy, new EntityMessage { Command = System.Text.Json.JsonSerializer.Serialize(
            new StopCommand(true, StopTarget.Model, "gpt-4o", "costs"), Gateway.Core.EntityStateJson.Options) }, DateTimeOffset.UtcNow);
        var state = StopsEntityKind.Instance.StateOf(after)!;
        Assert.Equal("outage", StopList.Find(state, StopTarget.Provider, "anthropic", DateTimeOffset.UtcNow)?.Reason);
        Assert.Equal("costs", StopList.Find(state, StopTarget.Model, "gpt-4o", DateTimeOffset.UtcNow)?.Reason);
        Assert.Null(after.Other);
    }
}
