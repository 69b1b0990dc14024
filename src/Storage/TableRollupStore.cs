using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure.Data.Tables;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Rollups in Table Storage. Partition = granularity (m, h, d, mo) and dimension (<c>d|team</c>), row = bucket and value
/// (<c>20261125|payments</c>), so a report over any range of one dimension is one range scan of one partition:
/// a year of monthly rows for a dimension is 12 × (number of values) rows.
/// </summary>
public sealed class TableRollupStore(TableClient table) : IRollupStore
{
    private readonly LazyTable _table = new(table);

    public async Task UpsertAsync(IReadOnlyList<RollupRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.SubmitAsync(client, rows.Select(ToEntity), TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);
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
        foreach (var dimension in UsageDimensions.Names)
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(granularity, dimension)} and RowKey lt {key}");
            deleted += await TableBatches.DeleteWhereAsync(client, filter, cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    private static string Partition(Granularity granularity, string dimension) => UsageBuckets.Code(granularity) + "|" + dimension;

    /// <summary>Row keys may not hold / \ # ? or control characters: those (and %) are percent-encoded.</summary>
    internal static string EscapeKey(string value)
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
        });
}
