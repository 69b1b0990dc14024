using Gateway.Core.Configuration;
using System.Text.Json.Nodes;
using Gateway.Core.Pricing;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Functions;

/// <summary>The pricing admin API over a real blob (Azurite): replace at runtime, every instance follows, invalid refused.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class PricingFunctionsTests(AzuriteFixture azurite)
{
    private const string Replacement = """
        { "version": "negotiated-2026-11", "currency": "USD", "unit": "per_million_tokens",
          "providers": { "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 100, "output": 200 } ] } } } } }
        """;

    private static async Task<(int Status, JsonObject Body)> Call(Func<Microsoft.AspNetCore.Http.HttpRequest, Task<Microsoft.AspNetCore.Mvc.IActionResult>> function,
        string method, string? body = null, string? adminKey = TestGateway.AdminKey)
    {
        var headers = adminKey is null ? null : new Dictionary<string, string> { ["x-admin-key"] = adminKey };
        var context = TestGateway.Request(method, "/gateway/pricing", body, headers: headers);
        await function(context.Request);
        return (context.Response.StatusCode, JsonNode.Parse(TestGateway.ResponseText(context))!.AsObject());
    }

    [Fact]
    public async Task The_catalog_is_replaced_at_runtime_for_every_instance_and_an_invalid_one_is_refused()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var blob = $"{azurite.UniqueName("cfg").ToLowerInvariant()}/prices.json";
        var gateway = new TestGateway();
        var sync = new DocumentSync(gateway.Runtime.Prices, new BlobDocumentStore(connection.Blob(blob)));
        var functions = new PricingFunctions(gateway.Runtime, new PricingAdministration(gateway.Runtime.Prices, sync));
        var otherHolder = new PriceCatalogHolder(PriceCatalog.Default);
        var otherInstance = new DocumentSync(otherHolder, new BlobDocumentStore(connection.Blob(blob)));
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await otherInstance.RefreshAsync(default)).Outcome);

        var (status, shown) = await Call(functions.Get, "GET");
        Assert.Equal(200, status);
        Assert.Equal(PriceCatalog.Default.Version, (string?)shown["version"]);

        Assert.Equal(401, (await Call(functions.Put, "PUT", Replacement, adminKey: "sk-wrong")).Status);
        Assert.Equal(401, (await Call(functions.Put, "PUT", Replacement, adminKey: null)).Status);

        var key = await gateway.CreateKeyAsync();
        var before = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", key);
        await gateway.Chat.Run(before.Request);

        var (putStatus, put) = await Call(functions.Put, "PUT", Replacement);
        Assert.Equal(200, putStatus);
        Assert.Equal("negotiated-2026-11", (string?)put["version"]);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await otherInstance.RefreshAsync(default)).Outcome);
        Assert.Equal("negotiated-2026-11", otherHolder.Current.Version);

        // the same request now costs 100× as much (prices 100/200 instead of 1/2 per million)
        var after = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", key);
        await gateway.Chat.Run(after.Request);
        Assert.Equal(decimal.Parse(before.Response.Headers["x-gateway-cost-usd"].ToString(), System.Globalization.CultureInfo.InvariantCulture) * 100,
            decimal.Parse(after.Response.Headers["x-gateway-cost-usd"].ToString(), System.Globalization.CultureInfo.InvariantCulture));

        var (badStatus, bad) = await Call(functions.Put, "PUT", """{"version":"oops","providers":{"openai":{"models":{"gpt-x":{"prices":[{"effectiveFrom":"2026-13-01","input":1,"output":-2}]}}}}}""");
        Assert.Equal(400, badStatus);
        Assert.Equal("invalid_catalog", (string?)bad["error"]!["code"]);
        var message = (string)bad["error"]!["message"]!;
        Assert.Contains("$.providers.openai.models.gpt-x.prices[0].effectiveFrom", message, StringComparison.Ordinal);
        Assert.Contains("$.providers.openai.models.gpt-x.prices[0].output: must not be negative", message, StringComparison.Ordinal);
        Assert.Equal("negotiated-2026-11", gateway.Runtime.Prices.Current.Version);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await otherInstance.RefreshAsync(default)).Outcome);

        Assert.Equal(400, (await Call(functions.Put, "PUT", "not json at all")).Status);
        Assert.Equal("negotiated-2026-11", (string?)(await Call(functions.Get, "GET")).Body["version"]);
    }
}
