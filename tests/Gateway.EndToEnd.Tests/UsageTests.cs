using System.Globalization;
using Azure.Data.Tables;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>Usage records through the host's queue trigger into Table Storage, the rollup and retention timers, reports and exports.</summary>
[Collection(HostCollection.Name)]
public sealed class UsageTests(HostFixture fixture)
{
    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private TableClient Table(string name) => StorageConnection.FromConnectionString(fixture.Storage).Table(name);

    /// <summary>The raw records of one tag value, as stored.</summary>
    private async Task<List<UsageRecord>> RecordsTaggedAsync(string run)
    {
        var store = new TableUsageStore(Table("usagerecords"), Table("usagedirty"));
        var found = new List<UsageRecord>();
        try
        {
            await foreach (var r in store.ReadRangeAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), default))
                if (r.Tags.TryGetValue("run", out var value) && value == run) found.Add(r);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // no record written yet: the table does not exist
        }

        return found;
    }

    [HostFact]
    public async Task Records_reach_the_table_once_each_and_reports_and_exports_show_them_after_the_rollup_timer()
    {
        var run = "u" + Guid.NewGuid().ToString("N")[..10];
        var key = fixture.Keys["main"].Key;
        var replies = new List<Reply>();
        for (var i = 0; i < 12; i++)
        {
            var stream = i % 3 == 0 ? "true" : "false";
            replies.Add(await fixture.ChatAsync(key, $$"""{"model":"gpt-4o-mini","stream":{{stream}},"max_tokens":20,"messages":[{"role":"user","content":"usage {{i}}"}]}""",
                new Dictionary<string, string> { ["x-gateway-tags"] = "run=" + run }));
        }

        Assert.All(replies, r => Assert.Equal(200, r.Status));
        var records = await HostFixture.EventuallyAsync(() => RecordsTaggedAsync(run), r => r.Count >= 12, TimeSpan.FromSeconds(30), "the records reaching Table Storage");
        Assert.Equal(12, records.Count);
        var ids = replies.Select(r => r.Header("x-gateway-request-id")).Order().ToList();
        Assert.Equal(ids, records.Select(r => r.RequestId).Order());
        Assert.All(records, r => Assert.Equal(fixture.Keys["main"].Id, r.KeyId));
        // each response's cost header is its record's cost
        var byId = records.ToDictionary(r => r.RequestId);
        foreach (var reply in replies.Where((_, i) => i % 3 != 0)) Assert.Equal(reply.Cost, byId[reply.Header("x-gateway-request-id")!].CostUsd);

        // the rollup timer (every few seconds here) folds them in; the report then answers with the same totals
        var from = Iso(DateTimeOffset.UtcNow.AddHours(-1));
        var to = Iso(DateTimeOffset.UtcNow.AddHours(1));
        var report = await HostFixture.EventuallyAsync(
            () => fixture.AdminAsync(HttpMethod.Get, $"gateway/reports/usage?from={from}&to={to}&group_by=tag&value=run={run}"),
            r => r.Status == 200 && (long?)r.Json!["totals"]?["requests"] == 12, TimeSpan.FromSeconds(60), "the rollup");
        Assert.Equal(records.Sum(r => r.CostUsd), (decimal)report.Json!["totals"]!["cost_usd"]!);

        var csv = await fixture.AdminAsync(HttpMethod.Get, $"gateway/reports/export?from={from}&to={to}&format=csv");
        Assert.Equal(200, csv.Status);
        Assert.Equal(12, csv.Text.Split('\n').Count(line => line.Contains(run, StringComparison.Ordinal)));
        var json = await fixture.AdminAsync(HttpMethod.Get, $"gateway/reports/export?from={from}&to={to}&format=json");
        Assert.Equal(12, json.Json!.AsArray().Count(r => r!.ToJsonString().Contains(run, StringComparison.Ordinal)));
    }

    [HostFact]
    public async Task A_three_thousand_character_user_is_refused_and_a_long_one_never_stalls_the_rollups()
    {
        var key = fixture.Keys["main"].Key;
        var tooLong = await fixture.ChatAsync(key, $$"""{"model":"mock-1","user":"{{new string('u', 3000)}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(400, tooLong.Status);
        Assert.Equal("user", (string?)tooLong.Json!["error"]!["param"]);

        // a user of the longest allowed length, with characters row keys cannot hold, is rolled up like any other
        var run = "l" + Guid.NewGuid().ToString("N")[..10];
        var user = "a/b#c?" + new string('x', 250);
        var ok = await fixture.ChatAsync(key, $$"""{"model":"mock-1","user":"{{user}}","messages":[{"role":"user","content":"hi"}]}""",
            new Dictionary<string, string> { ["x-gateway-tags"] = "run=" + run });
        Assert.Equal(200, ok.Status);
        var from = Iso(DateTimeOffset.UtcNow.AddHours(-1));
        var to = Iso(DateTimeOffset.UtcNow.AddHours(1));
        await HostFixture.EventuallyAsync(
            () => fixture.AdminAsync(HttpMethod.Get, $"gateway/reports/usage?from={from}&to={to}&group_by=tag&value=run={run}"),
            r => r.Status == 200 && (long?)r.Json!["totals"]?["requests"] == 1, TimeSpan.FromSeconds(60), "the rollup of the long user");
    }

    [HostFact]
    public async Task The_retention_timer_deletes_what_is_past_retention_and_keeps_the_rest()
    {
        var store = new TableUsageStore(Table("usagerecords"), Table("usagedirty"));
        var old = DateTimeOffset.UtcNow.AddDays(-120);
        var recent = DateTimeOffset.UtcNow.AddDays(-1);
        UsageRecord Record(string id, DateTimeOffset at) => new()
        {
            RequestId = id, At = at, KeyId = "key_e2eretention", Outcome = UsageOutcomes.Success, Status = 200, CostUsd = 0.001m,
        };
        var oldId = "req_e2eold" + Guid.NewGuid().ToString("N")[..8];
        var recentId = "req_e2erecent" + Guid.NewGuid().ToString("N")[..8];
        await store.WriteAsync([Record(oldId, old), Record(recentId, recent)], default);

        async Task<(bool Old, bool Recent)> PresentAsync()
        {
            bool Has(IEnumerable<UsageRecord> records, string id) => records.Any(r => r.RequestId == id);
            var olds = new List<UsageRecord>();
            await foreach (var r in store.ReadRangeAsync(old.AddMinutes(-10), old.AddMinutes(10), default)) olds.Add(r);
            var recents = new List<UsageRecord>();
            await foreach (var r in store.ReadRangeAsync(recent.AddMinutes(-10), recent.AddMinutes(10), default)) recents.Add(r);
            return (Has(olds, oldId), Has(recents, recentId));
        }

        Assert.Equal((true, true), await PresentAsync());
        var after = await HostFixture.EventuallyAsync(PresentAsync, p => !p.Old, TimeSpan.FromSeconds(60), "the retention timer");
        Assert.True(after.Recent, "a record inside the retention window was deleted");
    }
}
