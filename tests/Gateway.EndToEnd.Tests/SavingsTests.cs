using System.Globalization;
using Azure.Data.Tables;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>Savings recommendations on the host: the request shape on the stored records, and GET /gateway/savings over them.</summary>
[Collection(HostCollection.Name)]
public sealed class SavingsTests(HostFixture fixture)
{
    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private TableClient Table(string name) => StorageConnection.FromConnectionString(fixture.Storage).Table(name);

    private async Task<List<UsageRecord>> RecordsOfAsync(string keyId, DateTimeOffset since)
    {
        var store = new TableUsageStore(Table("usagerecords"), Table("usagedirty"));
        var found = new List<UsageRecord>();
        try
        {
            await foreach (var r in store.ReadRangeAsync(since, DateTimeOffset.UtcNow.AddHours(1), default))
                if (r.KeyId == keyId) found.Add(r);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // no record written yet: the table does not exist
        }

        return found;
    }

    [HostFact]
    public async Task Identical_requests_are_recorded_with_one_hash_and_the_savings_route_recommends_the_response_cache_for_them()
    {
        var (keyId, key) = fixture.Keys["savings"];
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        var question = "What are the opening hours of the Oslo office? " + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 8; i++)
        {
            var reply = await fixture.ChatAsync(key, $$"""{"model":"gpt-4o-mini","max_tokens":1500,"messages":[{"role":"user","content":"{{question}}"}]}""");
            Assert.Equal(200, reply.Status);
            Assert.Equal("bypass", reply.Header("x-gateway-cache"));
        }

        var records = await HostFixture.EventuallyAsync(() => RecordsOfAsync(keyId, since), r => r.Count >= 8, TimeSpan.FromSeconds(30), "the records reaching Table Storage");
        Assert.Equal(8, records.Count);
        Assert.Single(records.Select(r => r.RequestHash).Distinct());
        Assert.Matches("^[0-9a-f]{64}$", records[0].RequestHash);
        Assert.All(records, r => Assert.Equal((1500, 0, "stop"), (r.MaxTokens, r.ToolsOffered, r.FinishReason)));
        // a lone question has no shared prefix
        Assert.All(records, r => Assert.Null(r.PrefixHash));

        var from = Iso(since.AddMinutes(-1));
        var to = Iso(DateTimeOffset.UtcNow.AddMinutes(5));
        var savings = await fixture.AdminAsync(HttpMethod.Get, $"gateway/savings?from={from}&to={to}");
        Assert.Equal(200, savings.Status);
        var json = savings.Json!;
        Assert.True((decimal)json["spend_usd"]! >= records.Sum(r => r.CostUsd));
        var cache = Assert.Single(json["recommendations"]!.AsArray(), r => (string?)r!["kind"] == "response_cache" && (string?)r["scope"]!["value"] == "team-savings")!;
        Assert.Equal("team", (string?)cache["scope"]!["kind"]);
        var figures = cache["evidence"]!["figures"]!;
        Assert.Equal(8m, (decimal)figures["requests"]!);
        Assert.Equal(7m, (decimal)figures["repeated_requests"]!);
        Assert.Equal(records.Sum(r => r.CostUsd) * 7 / 8, (decimal)figures["observed_saving_usd"]!);
        Assert.True((decimal)cache["estimated_monthly_saving_usd"]! > 0m);
        Assert.Contains("team 'team-savings'", (string?)cache["evidence"]!["summary"], StringComparison.Ordinal);
        Assert.Equal("medium", (string?)cache["confidence"]);
    }

    [HostFact]
    public async Task A_bad_range_is_a_400_naming_the_parameter_and_an_empty_range_an_empty_report()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (query, param) in new[]
        {
            ($"to={Iso(now)}", "from"),
            ($"from=last-week&to={Iso(now)}", "from"),
            ($"from={Iso(now)}&to={Iso(now.AddDays(-1))}", "to"),
            ($"from={Iso(now.AddDays(-40))}&to={Iso(now)}", "to"),
        })
        {
            var refused = await fixture.AdminAsync(HttpMethod.Get, "gateway/savings?" + query);
            Assert.Equal(400, refused.Status);
            Assert.Equal(param, (string?)refused.Json!["error"]!["param"]);
        }

        var empty = await fixture.AdminAsync(HttpMethod.Get, $"gateway/savings?from={Iso(now)}&to={Iso(now)}");
        Assert.Equal(200, empty.Status);
        Assert.Empty(empty.Json!["recommendations"]!.AsArray());
        Assert.Equal((0m, 0m), ((decimal)empty.Json["spend_usd"]!, (decimal)empty.Json["total_monthly_saving_usd"]!));

        // the admin key only
        var asGatewayKey = await fixture.SendAsync(HttpMethod.Get, $"gateway/savings?from={Iso(now.AddHours(-1))}&to={Iso(now)}", fixture.Keys["savings"].Key);
        Assert.Equal(401, asGatewayKey.Status);
    }
}
