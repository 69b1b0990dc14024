using System.Net.Http.Headers;
using System.Text;
using Azure.Data.Tables;
using Gateway.Core.Usage;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.EndToEnd.Tests;

/// <summary>A client that stops reading a stream, through the real host: dropped, the upstream call ended, the record billed.</summary>
[Collection(HostCollection.Name)]
public sealed class SlowClientTests(HostFixture fixture)
{
    [HostFact]
    public async Task A_client_that_stops_reading_is_dropped_after_the_write_timeout_with_the_upstream_call_closed_and_what_was_produced_billed()
    {
        // 64 MB of answer in 16 KB chunks, produced as fast as it is taken: more than the loopback sockets' buffers
        // (megabytes each way) and the host's can hold, so the worker's writes stop once they are full
        var text = new StringBuilder(64 * 1024 * 1024);
        while (text.Length < 64 * 1024 * 1024) text.Append("lorem ipsum dolor sit amet ");
        fixture.Upstream.Enqueue(new FakeReply { Text = text.ToString(), ChunkChars = 16 * 1024, PromptTokens = 2000, CompletionTokens = 16_000_000 });
        var abandonedBefore = fixture.Upstream.AbandonedCount;
        var run = "slow" + Guid.NewGuid().ToString("N")[..10];

        using var http = new HttpClient { BaseAddress = fixture.Host.BaseUri, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","stream":true,"max_tokens":16000,"messages":[{"role":"user","content":"Write at length."}]}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Keys["slow"].Key);
        request.Headers.Add("x-gateway-tags", "run=" + run);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var requestId = response.Headers.GetValues("x-gateway-request-id").Single();
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[64];
        Assert.True(await body.ReadAsync(first) > 0);
        // ...and nothing more: the client stops reading, with its connection open, until the record says it was dropped

        var record = await HostFixture.EventuallyAsync(() => RecordAsync(requestId), r => r is not null, TimeSpan.FromSeconds(120),
            "the stream's usage record (the write timeout is 5 s)");
        Assert.NotNull(record);
        Assert.Equal(499, record.Status);
        Assert.Equal("client_too_slow", record.ErrorCode);
        Assert.Equal(UsageOutcomes.ClientClosed, record.Outcome);
        Assert.Equal(run, record.Tags["run"]);
        // billed for what was produced and sent before the drop: counted from the text (the upstream's usage comes at the
        // end, which never came), more than nothing and less than the whole answer
        Assert.True(record.CostEstimated);
        Assert.InRange(record.CompletionTokens, 1, 16_000_000 - 1);
        Assert.True(record.CostUsd > 0m, $"cost {record.CostUsd}");
        // the upstream call was cancelled with the client: the fake upstream's write failed on a closed connection
        // before it had written the whole answer
        await HostFixture.EventuallyAsync(() => Task.FromResult(fixture.Upstream.AbandonedCount), n => n > abandonedBefore, TimeSpan.FromSeconds(30),
            "the upstream connection closing");
    }

    private async Task<UsageRecord?> RecordAsync(string requestId)
    {
        var connection = StorageConnection.FromConnectionString(fixture.Storage);
        var store = new TableUsageStore(connection.Table("usagerecords"), connection.Table("usagedirty"));
        try
        {
            await foreach (var r in store.ReadRangeAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), default))
                if (r.RequestId == requestId) return r;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // no record written yet: the table does not exist
        }

        return null;
    }
}
