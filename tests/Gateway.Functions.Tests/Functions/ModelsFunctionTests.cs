using System.Text.Json.Nodes;
using Gateway.Functions.Tests.Infrastructure;

namespace Gateway.Functions.Tests.Functions;

public sealed class ModelsFunctionTests
{
    [Fact]
    public async Task Lists_only_the_models_the_key_may_use()
    {
        var gateway = new TestGateway();
        var all = await gateway.CreateKeyAsync("all");
        var limited = await gateway.CreateKeyAsync("limited", null, null, "mock-2");

        var context = TestGateway.Request("GET", "/v1/models", key: all);
        await gateway.Models.List(context.Request);
        var ids = JsonNode.Parse(TestGateway.ResponseText(context))!["data"]!.AsArray().Select(m => (string?)m!["id"]).ToList();
        Assert.Equal(["mock-1", "mock", "mock-2"], ids);

        context = TestGateway.Request("GET", "/v1/models", key: limited);
        await gateway.Models.List(context.Request);
        var body = JsonNode.Parse(TestGateway.ResponseText(context))!;
        Assert.Equal("list", (string?)body["object"]);
        Assert.Equal(["mock-2"], body["data"]!.AsArray().Select(m => (string?)m!["id"]));
        Assert.Equal("model", (string?)body["data"]![0]!["object"]);
    }

    [Fact]
    public async Task Gets_one_model_or_404()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var context = TestGateway.Request("GET", "/v1/models/mock", key: key);
        await gateway.Models.Get(context.Request, "mock");
        Assert.Equal("mock", (string?)JsonNode.Parse(TestGateway.ResponseText(context))!["id"]);

        context = TestGateway.Request("GET", "/v1/models/nope", key: key);
        await gateway.Models.Get(context.Request, "nope");
        Assert.Equal(404, context.Response.StatusCode);
    }

    [Fact]
    public async Task Requires_a_key()
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("GET", "/v1/models");
        await gateway.Models.List(context.Request);
        Assert.Equal(401, context.Response.StatusCode);
    }
}
