using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Gateway.Core.Privacy;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Raw usage records in Table Storage. Partition = the record's 5-minute bucket (yyyyMMddHHmm, UTC), row = the
/// gateway's request id, written with upsert-replace so writing a record again (a redelivered message) leaves exactly
/// one row. Buckets that received records are marked in a second table for the rollup job. Cost is stored as an
/// exact decimal string. With a <see cref="TableUserIndex"/> each record is also filed under its end user, before the
/// record itself (so a stored record can always be found by its user), and one user's records are read and deleted
/// through it.
/// </summary>
public sealed class TableUsageStore(TableClient records, TableClient dirty, TimeProvider? time = null, TableUserIndex? users = null) : IUsageRecordStore, IUserUsageRecords
{
    private const string DirtyPartition = "dirty";
    private readonly LazyTable _records = new(records);
    private readonly LazyTable _dirty = new(dirty);

    public async Task WriteAsync(IReadOnlyList<UsageRecord> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return;
        if (users is not null) await users.AddAsync(batch, cancellationToken).ConfigureAwait(false);
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.SubmitAsync(table, batch.Select(ToEntity), TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);

        // Marked after the rows are durable: the rollup job may then see a mark early, never a row without one.
        var marks = await _dirty.GetAsync(cancellationToken).ConfigureAwait(false);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var buckets = batch.Select(r => UsageBuckets.Key(r.At, Granularity.FiveMinutes)).Distinct(StringComparer.Ordinal)
            .Select(b => new TableEntity(DirtyPartition, b) { ["MarkedAt"] = now });
        await TableBatches.SubmitAsync(marks, buckets, TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<UsageRecord> ReadBucketAsync(string fiveMinuteKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {fiveMinuteKey}"), maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(e);
        }
    }

    public async IAsyncEnumerable<UsageRecord> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        var fromKey = UsageBuckets.Key(from, Granularity.FiveMinutes);
        var toKey = UsageBuckets.Key(to - TimeSpan.FromTicks(1), Granularity.FiveMinutes);
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {fromKey} and PartitionKey le {toKey}");
        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var r = FromEntity(e);
            if (r.At >= from && r.At < to) yield return r;
        }
    }

    public async Task<IReadOnlyList<DirtyBucket>> ReadDirtyAsync(CancellationToken cancellationToken)
    {
        var table = await _dirty.GetAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<DirtyBucket>();
        await foreach (var e in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {DirtyPartition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(new DirtyBucket(e.RowKey, e.ETag.ToString()));
        }

        return list;
    }

    public async Task<bool> ClearDirtyAsync(DirtyBucket bucket, CancellationToken cancellationToken)
    {
        var table = await _dirty.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteEntityAsync(DirtyPartition, bucket.BucketKey, new ETag(bucket.Version), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false;
        }
    }

    public async Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        var key = UsageBuckets.Key(cutoff, Granularity.FiveMinutes);
        // Rounded down to its bucket: a bucket that holds anything inside the window is kept whole.
        var filter = TableClient.CreateQueryFilter($"PartitionKey lt {key}");
        if (users is not null)
        {
            // the index entries first: a record whose entry is gone is still deleted by the next run, not the reverse
            var indexed = new List<UsageRecordKey>();
            await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey", "User"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (e.GetString("User") is { } user) indexed.Add(new UsageRecordKey(user, e.PartitionKey, e.RowKey));
                if (indexed.Count < 1000) continue;
                await users.RemoveRecordsAsync(indexed, cancellationToken).ConfigureAwait(false);
                indexed.Clear();
            }

            await users.RemoveRecordsAsync(indexed, cancellationToken).ConfigureAwait(false);
        }

        return await TableBatches.DeleteWhereAsync(table, filter, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<UsageRecord> ReadUserAsync(string storedUser, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (users is null) yield break;
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var (bucket, requestId) in users.RecordsAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            // an entry whose record is gone (deleted, or its write not finished) is skipped
            var found = await table.GetEntityIfExistsAsync<TableEntity>(bucket, requestId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (found.HasValue && found.Value is { } entity) yield return FromEntity(entity);
        }
    }

    public async Task<long> DeleteUserAsync(string storedUser, CancellationToken cancellationToken)
    {
        if (users is null) return 0;
        var table = await _records.GetAsync(cancellationToken).ConfigureAwait(false);
        long deleted = 0;
        await foreach (var (bucket, requestId) in users.RecordsAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            var response = await table.DeleteEntityAsync(bucket, requestId, ETag.All, cancellationToken).ConfigureAwait(false);
            if (response.Status != 404) deleted++;
        }

        return deleted;
    }

    public Task ForgetUserAsync(string storedUser, CancellationToken cancellationToken) =>
        users is null ? Task.CompletedTask : users.ForgetAsync(storedUser, cancellationToken);

    internal static TableEntity ToEntity(UsageRecord r) => new(UsageBuckets.Key(r.At, Granularity.FiveMinutes), r.RequestId)
    {
        ["ClientRequestId"] = r.ClientRequestId,
        ["At"] = r.At,
        ["KeyId"] = r.KeyId,
        ["KeyName"] = r.KeyName,
        ["User"] = r.User,
        ["Team"] = r.Team,
        ["Tags"] = r.Tags.Count == 0 ? null : JsonSerializer.Serialize(r.Tags),
        ["ModelRequested"] = r.ModelRequested,
        ["ModelServed"] = r.ModelServed,
        ["Provider"] = r.Provider,
        ["Deployment"] = r.Deployment,
        ["PromptTokens"] = r.PromptTokens,
        ["CompletionTokens"] = r.CompletionTokens,
        ["CachedTokens"] = r.CachedTokens,
        ["CacheWriteTokens"] = r.CacheWriteTokens,
        ["CacheWrite1hTokens"] = r.CacheWrite1hTokens,
        ["Attempts"] = r.Attempts,
        ["AttemptLog"] = r.AttemptLog,
        ["FallbackModel"] = r.FallbackModel,
        ["ReasoningTokens"] = r.ReasoningTokens,
        ["CostUsd"] = r.CostUsd.ToString(CultureInfo.InvariantCulture),
        ["CostEstimated"] = r.CostEstimated,
        ["BilledFailures"] = r.BilledFailures,
        ["Safety"] = r.Safety,
        ["BilledFailuresCostUsd"] = r.BilledFailuresCostUsd.ToString(CultureInfo.InvariantCulture),
        ["PriceKey"] = r.PriceKey,
        ["LatencyMs"] = r.LatencyMs,
        ["TimeToFirstTokenMs"] = r.TimeToFirstTokenMs,
        ["StreamDurationMs"] = r.StreamDurationMs,
        ["InterTokenP50Ms"] = r.InterTokenP50Ms,
        ["InterTokenP95Ms"] = r.InterTokenP95Ms,
        ["OutputTokensPerSecond"] = r.OutputTokensPerSecond,
        ["StreamRecoveries"] = r.StreamRecoveries,
        ["StreamRecovery"] = r.StreamRecovery,
        ["Stream"] = r.Stream,
        ["CacheStatus"] = r.CacheStatus,
        ["CacheKey"] = r.CacheKey,
        ["SavedUsd"] = r.SavedUsd.ToString(CultureInfo.InvariantCulture),
        ["Outcome"] = r.Outcome,
        ["Status"] = r.Status,
        ["ErrorCode"] = r.ErrorCode,
        ["RequestHash"] = r.RequestHash,
        ["PrefixHash"] = r.PrefixHash,
        ["PrefixTokens"] = r.PrefixTokens,
        ["MaxTokens"] = r.MaxTokens,
        ["ToolsOffered"] = r.ToolsOffered,
        ["FinishReason"] = r.FinishReason,
    };

    internal static UsageRecord FromEntity(TableEntity e) => new()
    {
        RequestId = e.RowKey,
        ClientRequestId = e.GetString("ClientRequestId"),
        At = e.GetDateTimeOffset("At") ?? default,
        KeyId = e.GetString("KeyId") ?? "",
        KeyName = e.GetString("KeyName"),
        User = e.GetString("User"),
        Team = e.GetString("Team"),
        Tags = e.GetString("Tags") is { } tags ? JsonSerializer.Deserialize<Dictionary<string, string>>(tags) ?? [] : new Dictionary<string, string>(),
        ModelRequested = e.GetString("ModelRequested"),
        ModelServed = e.GetString("ModelServed"),
        Provider = e.GetString("Provider"),
        Deployment = e.GetString("Deployment"),
        PromptTokens = e.GetInt64("PromptTokens") ?? 0,
        CompletionTokens = e.GetInt64("CompletionTokens") ?? 0,
        CachedTokens = e.GetInt64("CachedTokens") ?? 0,
        CacheWriteTokens = e.GetInt64("CacheWriteTokens") ?? 0,
        CacheWrite1hTokens = e.GetInt64("CacheWrite1hTokens") ?? 0,
        Attempts = e.GetInt32("Attempts") ?? 0,
        AttemptLog = e.GetString("AttemptLog"),
        FallbackModel = e.GetString("FallbackModel"),
        ReasoningTokens = e.GetInt64("ReasoningTokens") ?? 0,
        CostUsd = decimal.Parse(e.GetString("CostUsd") ?? "0", NumberStyles.Number, CultureInfo.InvariantCulture),
        CostEstimated = e.GetBoolean("CostEstimated") ?? false,
        BilledFailures = e.GetInt32("BilledFailures") ?? 0,
        Safety = e.GetString("Safety"),
        BilledFailuresCostUsd = decimal.Parse(e.GetString("BilledFailuresCostUsd") ?? "0", NumberStyles.Number, CultureInfo.InvariantCulture),
        PriceKey = e.GetString("PriceKey"),
        LatencyMs = e.GetInt64("LatencyMs") ?? 0,
        TimeToFirstTokenMs = e.GetInt64("TimeToFirstTokenMs"),
        StreamDurationMs = e.GetInt64("StreamDurationMs"),
        InterTokenP50Ms = e.GetDouble("InterTokenP50Ms"),
        InterTokenP95Ms = e.GetDouble("InterTokenP95Ms"),
        OutputTokensPerSecond = e.GetDouble("OutputTokensPerSecond"),
        StreamRecoveries = e.GetInt32("StreamRecoveries") ?? 0,
        StreamRecovery = e.GetString("StreamRecovery"),
        Stream = e.GetBoolean("Stream") ?? false,
        CacheStatus = e.GetString("CacheStatus") ?? "none",
        CacheKey = e.GetString("CacheKey"),
        SavedUsd = decimal.Parse(e.GetString("SavedUsd") ?? "0", NumberStyles.Number, CultureInfo.InvariantCulture),
        Outcome = e.GetString("Outcome") ?? UsageOutcomes.Success,
        Status = e.GetInt32("Status") ?? 0,
        ErrorCode = e.GetString("ErrorCode"),
        // rows written before these columns existed read as null: the savings analysis leaves them out where it needs them
        RequestHash = e.GetString("RequestHash"),
        PrefixHash = e.GetString("PrefixHash"),
        PrefixTokens = e.GetInt32("PrefixTokens"),
        MaxTokens = e.GetInt32("MaxTokens"),
        ToolsOffered = e.GetInt32("ToolsOffered"),
        FinishReason = e.GetString("FinishReason"),
    };
}
