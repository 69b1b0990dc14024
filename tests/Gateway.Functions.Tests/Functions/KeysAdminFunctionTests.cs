using System.Text.Json.Nodes;
using Gateway.Functions.Tests.Infrastructure;

namespace Gateway.Functions.Tests.Functions;

public sealed class KeysAdminFunctionTests
{
    [Fact]
    public async Task Creates_lists_and_revokes_keys_and_shows_the_plain_key_once()
    {
        var gateway = new TestGateway();
        var create = TestGateway.Request("POST", "/gateway/keys",
            """{"name":"ci","user":"bob","team":"platform","allowed_models":["mock-1"],"tags":{"env":"test"}}""", TestGateway.AdminKey);
        await gateway.Admin.Create(create.Request);
        Assert.Equal(201, create.Response.StatusCode);
        var created = JsonNode.Parse(TestGateway.ResponseText(create))!;
        var plain = (string)created["key"]!;
        var id = (string)created["id"]!;
        Assert.StartsWith("sk-gw-", plain, StringComparison.Ordinal);
        Assert.Equal("platform", (string?)created["team"]);

        var list = TestGateway.Request("GET", "/gateway/keys", key: TestGateway.AdminKey);
        await gateway.Admin.List(list.Request);
        var listed = TestGateway.ResponseText(list);
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(plain, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(plain[10..], listed, StringComparison.Ordinal);

        var chat = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", plain);
        await gateway.Chat.Run(chat.Request);
        Assert.Equal(200, chat.Response.StatusCode);

        var revoke = TestGateway.Request("DELETE", "/gateway/keys/" + id, key: TestGateway.AdminKey);
        await gateway.Admin.Revoke(revoke.Request, id);
        Assert.Equal(200, revoke.Response.StatusCode);
        Assert.NotNull(JsonNode.Parse(TestGateway.ResponseText(revoke))!["revoked_at"]);

        chat = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", plain);
        await gateway.Chat.Run(chat.Request);
        Assert.Equal(401, chat.Response.StatusCode);
    }

    [Theory]
    [InlineData(null, 401)]
    [InlineData("wrong", 401)]
    public async Task Requires_the_admin_key(string? key, int status)
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("GET", "/gateway/keys", key: key);
        await gateway.Admin.List(context.Request);
        Assert.Equal(status, context.Response.StatusCode);
    }

    [Fact]
    public async Task A_gateway_key_is_not_an_admin_key()
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("GET", "/gateway/keys", key: await gateway.CreateKeyAsync());
        await gateway.Admin.List(context.Request);
        Assert.Equal(401, context.Response.StatusCode);
    }

    [Fact]
    public async Task Admin_api_is_off_without_an_admin_key()
    {
        var gateway = new TestGateway(configure: o => o.AdminKey = null);
        var context = TestGateway.Request("GET", "/gateway/keys", key: "anything");
        await gateway.Admin.List(context.Request);
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Equal("admin_disabled", (string?)JsonNode.Parse(TestGateway.ResponseText(context))!["error"]!["code"]);
    }

    [Theory]
    [InlineData("{}", "name")]
    [InlineData("""{"name":"x","allowed_models":"mock-1"}""", "allowed_models")]
    [InlineData("""{"name":"x","allowed_models":["gpt-nope"]}""", "allowed_models")]
    [InlineData("""{"name":"x","tags":{"a":1}}""", "tags.a")]
    public async Task Bad_create_requests_are_400(string body, string param)
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("POST", "/gateway/keys", body, TestGateway.AdminKey);
        await gateway.Admin.Create(context.Request);
        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal(param, (string?)JsonNode.Parse(TestGateway.ResponseText(context))!["error"]!["param"]);
    }

    [Fact]
    public async Task Revoking_an_unknown_key_is_404()
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("DELETE", "/gateway/keys/key_nope", key: TestGateway.AdminKey);
        await gateway.Admin.Revoke(context.Request, "key_nope");
        Assert.Equal(404, context.Response.StatusCode);
    }
}
