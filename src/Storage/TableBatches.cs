using Azure;
using Azure.Data.Tables;

namespace Gateway.Storage;

/// <summary>Entity group transactions: at most 100 entities, all in one partition.</summary>
internal static class TableBatches
{
    public const int MaxBatch = 100;

    public static async Task SubmitAsync(TableClient table, IEnumerable<TableEntity> entities, TableTransactionActionType action, CancellationToken cancellationToken)
    {
        foreach (var partition in entities.GroupBy(e => e.PartitionKey, StringComparer.Ordinal))
        {
            // A batch may not touch the same row twice; the last write of a row wins, as it would sequentially.
            var rows = partition.GroupBy(e => e.RowKey, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            foreach (var chunk in rows.Chunk(MaxBatch))
            {
                await table.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(action, e)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes every row the filter selects (keys only are read); returns how many were deleted.</summary>
    public static async Task<long> DeleteWhereAsync(TableClient table, string filter, CancellationToken cancellationToken)
    {
        long deleted = 0;
        var pending = new List<TableEntity>();
        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            pending.Add(new TableEntity(e.PartitionKey, e.RowKey) { ETag = ETag.All });
            if (pending.Count >= 1000)
            {
                deleted += await DeleteAsync(table, pending, cancellationToken).ConfigureAwait(false);
                pending.Clear();
            }
        }

        deleted += await DeleteAsync(table, pending, cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>
    /// Deletes rows by key, in entity-group batches; a batch that fails because one of its rows is already gone (a
    /// transaction fails whole on a missing row) is deleted row by row, where a missing row is no error.
    /// </summary>
    public static async Task DeleteRowsAsync(TableClient table, IEnumerable<(string PartitionKey, string RowKey)> rows, CancellationToken cancellationToken)
    {
        foreach (var partition in rows.GroupBy(r => r.PartitionKey, StringComparer.Ordinal))
        {
            foreach (var chunk in partition.Select(r => r.RowKey).Distinct(StringComparer.Ordinal).Chunk(MaxBatch))
            {
                try
                {
                    await table.SubmitTransactionAsync(chunk.Select(rowKey => new TableTransactionAction(TableTransactionActionType.Delete,
                        new TableEntity(partition.Key, rowKey) { ETag = ETag.All })), cancellationToken).ConfigureAwait(false);
                }
                catch (TableTransactionFailedException ex) when (ex.Status == 404)
                {
                    foreach (var rowKey in chunk) await table.DeleteEntityAsync(partition.Key, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task<long> DeleteAsync(TableClient table, List<TableEntity> entities, CancellationToken cancellationToken)
    {
        if (entities.Count == 0) return 0;
        await SubmitAsync(table, entities, TableTransactionActionType.Delete, cancellationToken).ConfigureAwait(false);
        return entities.Count;
    }
}

/// <summary>Creates a table once, on first use.</summary>
internal sealed class LazyTable(TableClient table)
{
    private int _created;

    public TableClient Client => table;

    public async ValueTask<TableClient> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 1) return table;
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _created, 1);
        return table;
    }
}
