using Azure.Data.Tables;
using Gateway.Core.Usage;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Storage;

/// <summary>Raw usage records in Table Storage (Azurite): the request-shape columns, and rows written before they existed.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableUsageStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 7, 31, TimeSpan.Zero);

    [Fact]
    public async Task The_request_shape_columns_are_written_and_read_back_and_old_rows_read_without_them()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var name = azurite.UniqueName("usage");
        var table = connection.Table(name);
        var store = new TableUsageStore(table, connection.Table(name + "dirty"));
        var shaped = new UsageRecord
        {
            RequestId = "req_shaped", At = At, KeyId = "key_a", Team = "payments", Outcome = UsageOutcomes.Success, Status = 200, CostUsd = 0.0012m,
            PromptTokens = 2100, CompletionTokens = 40, RequestHash = new string('a', 64), PrefixHash = new string('b', 64), PrefixTokens = 1900,
            MaxTokens = 512, ToolsOffered = 3, FinishReason = "tool_calls",
        };
        var bare = shaped with { RequestId = "req_bare", RequestHash = null, PrefixHash = null, PrefixTokens = null, MaxTokens = null, ToolsOffered = 0, FinishReason = null };
        await store.WriteAsync([shaped, bare], default);

        // a row as an older version wrote it: none of the new columns
        await table.AddEntityAsync(new TableEntity(UsageBuckets.Key(At, Granularity.FiveMinutes), "req_old")
        {
            ["At"] = At, ["KeyId"] = "key_a", ["PromptTokens"] = 10L, ["CompletionTokens"] = 5L, ["CostUsd"] = "0.0001", ["Outcome"] = UsageOutcomes.Success, ["Status"] = 200,
        });

        var read = new Dictionary<string, UsageRecord>();
        await foreach (var r in store.ReadRangeAsync(At.AddMinutes(-5), At.AddMinutes(5), default)) read[r.RequestId] = r;
        Assert.Equal(3, read.Count);
        Assert.Equal(shaped with { Tags = read["req_shaped"].Tags }, read["req_shaped"]);
        Assert.Equal(bare with { Tags = read["req_bare"].Tags }, read["req_bare"]);
        var old = read["req_old"];
        Assert.Equal(new UsageRecord
        {
            RequestId = "req_old", At = At, KeyId = "key_a", PromptTokens = 10, CompletionTokens = 5, CostUsd = 0.0001m, Outcome = UsageOutcomes.Success, Status = 200, Tags = old.Tags,
        }, old);
    }
}
