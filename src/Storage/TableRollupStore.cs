using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure.Data.Tables;
using Gateway.Core.Privacy;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Rollups in Table Storage. Partition = granularity (m, h, d, mo) and dimension (<c>d|team</c>), row = bucket and value
/// (<c>20261125|payments</c>), so a report over any range of one dimension is one range scan of one partition:
/// a year of monthly rows for a dimension is 12 × (number of values) rows.
/// </summary>
/// <remarks>One row the table refuses for good (a 4xx) never stops a rollup run: the batch is written row by row and the
/// refused row is skipped with a log line (<paramref name="onQuarantined"/>). With a <see cref="TableUserIndex"/>, one end
/// user's rows of the <c>user</c> dimension are found by point reads at the buckets the index names (never a scan of the
/// dimension), and retention deletes the index's hour entries with the monthly rows they lead to.</remarks>
public sealed class TableRollupStore(TableClient table, Action<string>? onQuarantined = null, TableUserIndex? users = null) : IRollupStore, IUserRollups
{
    private readonly LazyTable _table = new(table);

    public async Task UpsertAsync(IReadOnlyList<RollupRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await TableBatches.SubmitAsync(client, rows.Select(ToEntity), TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status is >= 400 and < 500 and not (408 or 409 or 412 or 429))
        {
            // some row is refused: write them one by one below
        }

        foreach (var row in rows)
        {
            try
            {
                await client.UpsertEntityAsync(ToEntity(row), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException ex) when (ex.Status is >= 400 and < 500 and not (408 or 409 or 412 or 429))
            {
                onQuarantined?.Invoke($"rollup row {UsageBuckets.Code(row.Granularity)}|{row.Dimension} at {row.Start:O} was refused by the table ({ex.Status} {ex.ErrorCode}) and skipped");
            }
        }
    }

    public async IAsyncEnumerable<RollupRow> ReadAsync(Granularity granularity, string dimension, DateTimeOffset from, DateTimeOffset to, string? value,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        var partition = Partition(granularity, dimension);
        var fromKey = UsageBuckets.Key(from, granularity) + "|";
        var toKey = UsageBuckets.Key(to, granularity) + "|";
        var filter = value is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {fromKey} and RowKey lt {toKey}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {fromKey} and RowKey lt {toKey} and Value eq {value}");
        await foreach (var e in client.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(e, granularity, dimension);
        }
    }

    public async Task<long> DeleteBeforeAsync(Granularity granularity, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        var key = UsageBuckets.Key(cutoff, granularity) + "|";
        long deleted = 0;
        if (users is not null && granularity == Granularity.Month)
        {
            // a month's rows are the last the index's hour entries lead to: those entries go with them
            var monthFilter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(granularity, UsageDimensions.User)} and RowKey lt {key}");
            var values = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var e in client.QueryAsync<TableEntity>(monthFilter, maxPerPage: 1000, select: ["Value"], cancellationToken: cancellationToken).ConfigureAwait(false))
                if (e.GetString("Value") is { } value) values.Add(value);
            foreach (var value in values) await users.ForgetHoursBeforeAsync(value, cutoff, cancellationToken).ConfigureAwait(false);
        }

        foreach (var dimension in UsageDimensions.Names)
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(granularity, dimension)} and RowKey lt {key}");
            deleted += await TableBatches.DeleteWhereAsync(client, filter, cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    public async IAsyncEnumerable<RollupRow> ReadUserAsync(string storedUser, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (granularity, start) in await UserBucketsAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            var found = await client.GetEntityIfExistsAsync<TableEntity>(Partition(granularity, UsageDimensions.User), UserRowKey(granularity, start, storedUser),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            if (found.HasValue && found.Value is { } entity) yield return FromEntity(entity, granularity, UsageDimensions.User);
        }
    }

    public async Task<long> DeleteUserAsync(string storedUser, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        long deleted = 0;
        // finest first: a rollup run recomputing a coarser row meanwhile reads finer rows already without the user
        foreach (var (granularity, start) in await UserBucketsAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            var response = await client.DeleteEntityAsync(Partition(granularity, UsageDimensions.User), UserRowKey(granularity, start, storedUser), Azure.ETag.All,
                cancellationToken).ConfigureAwait(false);
            if (response.Status != 404) deleted++;
        }

        return deleted;
    }

    /// <summary>Every bucket that may have a row for the user, finest first: the 5-minute buckets of their records (kept
    /// longer than 5-minute rollups) and the hours, days and months of the hours the index names.</summary>
    private async Task<IReadOnlyList<(Granularity Granularity, DateTimeOffset Start)>> UserBucketsAsync(string storedUser, CancellationToken cancellationToken)
    {
        var buckets = new SortedSet<(Granularity, DateTimeOffset)>();
        if (users is null) return [];
        await foreach (var (bucket, _) in users.RecordsAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            var start = UsageBuckets.Parse(bucket);
            foreach (var granularity in Enum.GetValues<Granularity>()) buckets.Add((granularity, UsageBuckets.Floor(start, granularity)));
        }

        await foreach (var hour in users.HoursAsync(storedUser, cancellationToken).ConfigureAwait(false))
        {
            foreach (var granularity in new[] { Granularity.Hour, Granularity.Day, Granularity.Month }) buckets.Add((granularity, UsageBuckets.Floor(hour, granularity)));
        }

        return [.. buckets];
    }

    private static string UserRowKey(Granularity granularity, DateTimeOffset start, string value) => UsageBuckets.Key(start, granularity) + "|" + EscapeKey(value);

    private static string Partition(Granularity granularity, string dimension) => UsageBuckets.Code(granularity) + "|" + dimension;

    /// <summary>
    /// Row keys may not hold / \ # ? or control characters: those (and %) are percent-encoded. A row key is at most
    /// 1 KiB, so a long value keeps its first characters and is told apart by a hash of the whole (the row's
    /// <c>Value</c> property holds it in full).
    /// </summary>
    internal static string EscapeKey(string value)
    {
        var escaped = Escape(value);
        if (escaped.Length <= MaxKeyValueChars) return escaped;
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..32];
        var prefix = escaped[..(MaxKeyValueChars - hash.Length - 1)];
        // never cut a %XX escape in half
        var percent = prefix.LastIndexOf('%');
        if (percent >= 0 && percent > prefix.Length - 3) prefix = prefix[..percent];
        return prefix + "~" + hash;
    }

    /// <summary>The longest value part of a row key (the bucket part is at most 13 characters).</summary>
    internal const int MaxKeyValueChars = 400;

    private static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c)) sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }

        return sb.ToString();
    }

    private static TableEntity ToEntity(RollupRow row)
    {
        var t = row.Totals;
        return new TableEntity(Partition(row.Granularity, row.Dimension), UsageBuckets.Key(row.Start, row.Granularity) + "|" + EscapeKey(row.Value))
        {
            ["Value"] = row.Value,
            ["Start"] = row.Start,
            ["Requests"] = t.Requests,
            ["Errors"] = t.Errors,
            ["PromptTokens"] = t.PromptTokens,
            ["CompletionTokens"] = t.CompletionTokens,
            ["CachedTokens"] = t.CachedTokens,
            ["CacheWriteTokens"] = t.CacheWriteTokens,
            ["ReasoningTokens"] = t.ReasoningTokens,
            ["CostUsd"] = t.CostUsd.ToString(CultureInfo.InvariantCulture),
            ["EstimatedCostRequests"] = t.EstimatedCostRequests,
            ["LatencyMsTotal"] = t.LatencyMsTotal,
            ["CacheHits"] = t.CacheHits,
            ["SavedUsd"] = t.SavedUsd.ToString(CultureInfo.InvariantCulture),
            ["RateLimited"] = t.RateLimited,
            ["SafetyBlocks"] = t.SafetyBlocks,
        };
    }

    private static RollupRow FromEntity(TableEntity e, Granularity granularity, string dimension) => new(
        granularity,
        e.GetDateTimeOffset("Start") ?? UsageBuckets.Parse(e.RowKey[..e.RowKey.IndexOf('|', StringComparison.Ordinal)]),
        dimension,
        e.GetString("Value") ?? "",
        new UsageAggregate
        {
            Requests = e.GetInt64("Requests") ?? 0,
            Errors = e.GetInt64("Errors") ?? 0,
            PromptTokens = e.GetInt64("PromptTokens") ?? 0,
            CompletionTokens = e.GetInt64("CompletionTokens") ?? 0,
            CachedTokens = e.GetInt64("CachedTokens") ?? 0,
            CacheWriteTokens = e.GetInt64("CacheWriteTokens") ?? 0,
            ReasoningTokens = e.GetInt64("ReasoningTokens") ?? 0,
            CostUsd = decimal.Parse(e.GetString("CostUsd") ?? "0", NumberStyles.Number, CultureInfo.InvariantCulture),
            EstimatedCostRequests = e.GetInt64("EstimatedCostRequests") ?? 0,
            LatencyMsTotal = e.GetInt64("LatencyMsTotal") ?? 0,
            // rows written before these counters existed read as zero
            CacheHits = e.GetInt64("CacheHits") ?? 0,
            SavedUsd = decimal.Parse(e.GetString("SavedUsd") ?? "0", NumberStyles.Number, CultureInfo.InvariantCulture),
            RateLimited = e.GetInt64("RateLimited") ?? 0,
            SafetyBlocks = e.GetInt64("SafetyBlocks") ?? 0,
        });
}
