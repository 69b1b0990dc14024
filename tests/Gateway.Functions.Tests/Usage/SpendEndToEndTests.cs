using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Functions.Tests.Usage;

/// <summary>
/// "What did we spend, on what, for whom", end to end on Azurite through the function classes: requests through the
/// chat function enqueue their records, the queue-triggered writer stores them, the rollup timer folds them in, and the
/// report and export functions answer with exactly the costs the responses carried.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SpendEndToEndTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Every_request_is_reported_once_with_the_cost_its_response_carried()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var prefix = azurite.UniqueName("spend").ToLowerInvariant();
        var options = new GatewayOptions();
        options.Pricing.Currencies["EUR"] = 0.9m;
        var services = new UsageServices(connection, options, TimeProvider.System, prefix: prefix);
        var gateway = new TestGateway(configure: o => o.Pricing.Currencies["EUR"] = 0.9m, usage: services.Sink);
        var keys = new[]
        {
            await gateway.CreateKeyAsync("checkout", team: "payments", user: "alice"),
            await gateway.CreateKeyAsync("search", team: "discovery", user: "bob"),
        };

        var costsByTeam = new Dictionary<string, decimal> { ["payments"] = 0m, ["discovery"] = 0m };
        for (var i = 0; i < 24; i++)
        {
            var team = i % 3 == 0 ? "discovery" : "payments";
            var body = $$"""{"model":"{{(i % 2 == 0 ? "mock-1" : "mock-2")}}","stream":{{(i % 4 == 1 ? "true" : "false")}},"messages":[{"role":"user","content":"request number {{i}} please"}]}""";
            var context = TestGateway.Request("POST", "/v1/chat/completions", body, keys[team == "payments" ? 0 : 1],
                new Dictionary<string, string> { ["x-gateway-tags"] = $"feature=f{i % 2}" });
            await gateway.ChatAsync(context.Request);
            Assert.Equal(200, context.Response.StatusCode);
            var text = TestGateway.ResponseText(context);
            // non-streaming: the header; streaming: the closing comment
            var cost = context.Response.Headers.TryGetValue("x-gateway-cost-usd", out var header) && header.Count > 0
                ? header.ToString()
                : text.Split("\n\n").Single(e => e.StartsWith(": x-gateway-cost-usd=", StringComparison.Ordinal))[": x-gateway-cost-usd=".Length..];
            costsByTeam[team] += decimal.Parse(cost, CultureInfo.InvariantCulture);
        }

        // The records went to the queue in batches (every second, or now); the host delivers one message to the trigger
        // and the writer takes the rest of the queue.
        await services.Batcher.FlushAsync(default);
        Assert.InRange((await services.QueueClient.GetPropertiesAsync()).Value.ApproximateMessagesCount, 1, 2);
        var functions = new UsageFunctions(services, NullLogger<UsageFunctions>.Instance);
        var first = (await services.QueueClient.ReceiveMessageAsync()).Value;
        await functions.WriteUsage(first.MessageText, default);
        await services.QueueClient.DeleteMessageAsync(first.MessageId, first.PopReceipt);
        Assert.Equal(0, (await services.QueueClient.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        await functions.RollupUsage(new Microsoft.Azure.Functions.Worker.TimerInfo(), default);

        var reports = new ReportsFunction(gateway.Runtime, services, gateway.Runtime.Currencies);
        var from = DateTimeOffset.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = DateTimeOffset.UtcNow.AddDays(2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var report = await Get(reports.Report, $"?from={from}&to={to}&group_by=team");
        var rows = report["groups"]!.AsArray().ToDictionary(r => (string)r!["value"]!, r => r!);
        Assert.Equal(costsByTeam["payments"], (decimal)rows["payments"]["cost_usd"]!);
        Assert.Equal(costsByTeam["discovery"], (decimal)rows["discovery"]["cost_usd"]!);
        Assert.Equal(16, (long)rows["payments"]["requests"]!);
        Assert.Equal(8, (long)rows["discovery"]["requests"]!);

        var inEuro = await Get(reports.Report, $"?from={from}&to={to}&currency=EUR");
        Assert.Equal((costsByTeam["payments"] + costsByTeam["discovery"]) * 0.9m, (decimal)inEuro["totals"]!["cost"]!);

        var byTag = await Get(reports.Report, $"?from={from}&to={to}&group_by=tag&value=feature=f1");
        Assert.Equal(12, (long)byTag["totals"]!["requests"]!);

        var export = await GetText(reports.Export, $"?from={from}&to={to}&format=csv");
        Assert.Equal(1 + 24, export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private static async Task<JsonObject> Get(Func<HttpRequest, Task<Microsoft.AspNetCore.Mvc.IActionResult>> function, string query)
    {
        var text = await GetText(function, query);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<string> GetText(Func<HttpRequest, Task<Microsoft.AspNetCore.Mvc.IActionResult>> function, string query)
    {
        var context = TestGateway.Request("GET", "/gateway/reports", headers: new Dictionary<string, string> { ["x-admin-key"] = TestGateway.AdminKey });
        context.Request.QueryString = new QueryString(query);
        await function(context.Request);
        var text = TestGateway.ResponseText(context);
        Assert.True(context.Response.StatusCode == 200, text);
        return text;
    }
}
