using System.Collections.Concurrent;
using System.Globalization;
using Gateway.Core.Usage;
using Gateway.Storage;
using Xunit.Abstractions;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// A host restart while requests are being served (a deployment, a scale-in): what was accepted before it is neither
/// lost nor counted twice, and budgets and rate-limit counters keep their state across it.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class RestartTests(HostFixture fixture, ITestOutputHelper output)
{
    private static readonly string Chat = HostFixture.LongChat();

    [HostFact]
    public async Task A_restart_under_load_loses_and_doubles_no_usage_record_and_budgets_and_counters_keep_their_state()
    {
        var (id, key) = fixture.Keys["restart"];
        var scope = "key:" + id;
        var run = "r" + Guid.NewGuid().ToString("N")[..10];
        var tags = new Dictionary<string, string> { ["x-gateway-tags"] = "run=" + run };
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/" + scope, """{"limit_usd":1000,"period":"monthly"}""")).Status);
        var limited = fixture.Keys["restart-limited"].Key;
        const string limitedChat = """{"model":"mock-1","messages":[{"role":"user","content":"counted"}]}""";
        // the rate-limited key (3 a minute) uses two before the restart
        var limitedClock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(200, (await fixture.ChatAsync(limited, limitedChat)).Status);
        Assert.Equal(200, (await fixture.ChatAsync(limited, limitedChat)).Status);
        await Task.Delay(1500);

        var answered = new ConcurrentBag<Reply>();
        var failed = 0;
        using var stop = new CancellationTokenSource();
        async Task LoadAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    answered.Add(await fixture.ChatAsync(key, Chat, tags));
                }
                catch (HttpRequestException)
                {
                    // the host is down for a moment: the client sees a connection error, as it would in Azure
                    Interlocked.Increment(ref failed);
                    await Task.Delay(100);
                }
            }
        }

        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(LoadAsync)).ToArray();
        await Task.Delay(3000);
        await fixture.RestartHostAsync();
        var afterRestart = answered.Count;
        await Task.Delay(3000);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        // the rate-limit counter survived: it admits at most what is left of its three plus what it refilled since the
        // first request (one per 20 s: a slow restart refills one), never the fresh bucket of three a lost counter would
        // give; it may admit less, as an allotment the stopped instance had fetched ahead is lost with it (by design: at
        // most one allotment per instance, see RateLimitGate)
        var admittedAfter = 0;
        Reply refused;
        while ((refused = await fixture.ChatAsync(limited, limitedChat)).Status == 200 && admittedAfter < 6) admittedAfter++;
        var refilled = (int)Math.Floor(3 * limitedClock.Elapsed.TotalSeconds / 60);
        output.WriteLine($"rate-limited key: {admittedAfter} admitted after the restart, {limitedClock.Elapsed.TotalSeconds:F0} s after its first request");
        Assert.InRange(2 + admittedAfter, 2, 3 + refilled);
        Assert.Equal(429, refused.Status);
        Assert.Equal("rate_limit_exceeded", refused.ErrorCode);

        var ok = answered.Where(r => r.Status == 200).ToList();
        output.WriteLine($"{ok.Count} requests answered 200 ({afterRestart} before the restart finished), {answered.Count - ok.Count} other answers, {failed} connection errors");
        foreach (var other in answered.Where(r => r.Status != 200).Take(5)) output.WriteLine("  other answer: " + other);
        Assert.True(ok.Count > 0 && answered.Count > afterRestart, "requests were served before and after the restart");

        // every request answered 200 has exactly one record (the request id is the row key), whatever side of the restart it was on
        var store = new TableUsageStore(StorageConnection.FromConnectionString(fixture.Storage).Table("usagerecords"),
            StorageConnection.FromConnectionString(fixture.Storage).Table("usagedirty"));
        async Task<List<UsageRecord>> RecordsAsync()
        {
            var found = new List<UsageRecord>();
            await foreach (var r in store.ReadRangeAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), default))
                if (r.Tags.TryGetValue("run", out var v) && v == run) found.Add(r);
            return found;
        }

        var okIds = ok.Select(r => r.Header("x-gateway-request-id")!).ToHashSet();
        var records = await HostFixture.EventuallyAsync(RecordsAsync, r => okIds.IsSubsetOf(r.Select(x => x.RequestId)), TimeSpan.FromSeconds(30), "every answered request's record");
        Assert.Equal(records.Count, records.Select(r => r.RequestId).Distinct().Count());
        Assert.True(records.Count - okIds.Count <= failed + answered.Count(r => r.Status != 200),
            $"{records.Count} records for {okIds.Count} answered requests");

        // the budget counted exactly what the records cost: the instance that stopped reported its spend on the way out
        var budget = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, "gateway/budgets/" + scope),
            b => (decimal)b.Json!["spent_usd"]! == records.Sum(r => r.CostUsd), TimeSpan.FromSeconds(75), "the budget matching the records");
        output.WriteLine($"budget spent {budget.Json!["spent_usd"]} = the records' {records.Sum(r => r.CostUsd)}");

        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Delete, "gateway/budgets/" + scope)).Status);
    }

    [HostFact]
    public async Task A_fresh_instance_answers_its_first_budgeted_request_without_waiting_on_a_round_trip()
    {
        var (id, key) = fixture.Keys["budget"];
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/key:" + id, """{"limit_usd":1000,"period":"monthly"}""")).Status);
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/global", """{"limit_usd":100000,"period":"monthly"}""")).Status);
        try
        {
            await fixture.RestartHostAsync();
            // the same request without budgets first, so the comparison is of the budget stage alone
            var unbudgeted = await fixture.ChatAsync(fixture.Keys["main"].Key, Chat);
            var budgeted = await fixture.ChatAsync(key, Chat);
            var again = await fixture.ChatAsync(key, Chat);
            Assert.Equal(200, budgeted.Status);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"fresh instance, gateway time: first request {unbudgeted.Header("x-gateway-latency-ms")} ms, first budgeted {budgeted.Header("x-gateway-latency-ms")} ms, second budgeted {again.Header("x-gateway-latency-ms")} ms"));
        }
        finally
        {
            await fixture.AdminAsync(HttpMethod.Delete, "gateway/budgets/global");
            await fixture.AdminAsync(HttpMethod.Delete, "gateway/budgets/key:" + id);
        }
    }
}
