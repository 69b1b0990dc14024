using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gateway.Core.Audit;

namespace Gateway.Storage;

/// <summary>
/// The audit log in Table Storage. One partition holds the log: entries (row <c>e</c> + the sequence number, 19 digits),
/// one idempotency row per event id (<c>k</c> + SHA-256 of the id, with the sequence it got) and the head (<c>head</c>:
/// the size). An append is one entity-group transaction — the new entries, their idempotency rows and the head updated
/// under its ETag — so it is atomic: a writer that lost a race to another gets 412 on the head and starts again from
/// the new size (sequence numbers stay gap-free), and an event already appended fails its idempotency row's insert
/// (409) and is dropped from the retry (so a redelivered message is appended once). Checkpoints live in a second table
/// and, as a copy, in a blob container the deployment puts under a time-based immutability (WORM) policy.
/// </summary>
public sealed class TableAuditLogStore(TableClient entries, TableClient checkpoints, BlobContainerClient? checkpointBlobs = null) : IAuditLogStore
{
    private const string Partition = "log";
    private const string HeadRow = "head";
    /// <summary>Entries per transaction: each takes two rows, and the head one more (at most 100 rows a transaction).</summary>
    private const int MaxPerTransaction = 49;
    private const int MaxAttempts = 50;

    private readonly LazyTable _entries = new(entries);
    private readonly LazyTable _checkpoints = new(checkpoints);
    private int _blobsCreated;

    public async Task<AuditAppendResult> AppendAsync(IReadOnlyList<AuditEvent> events, Func<long, AuditEvent, string> serialize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(serialize);
        var table = await _entries.GetAsync(cancellationToken).ConfigureAwait(false);
        var appended = new List<StoredAuditEntry>();
        var duplicates = 0;
        // an id twice in one batch is one event
        var pending = events.DistinctBy(e => e.Id, StringComparer.Ordinal).ToList();
        duplicates += events.Count - pending.Count;
        long size = 0;
        while (pending.Count > 0)
        {
            var chunk = pending.Take(MaxPerTransaction).ToList();
            for (var attempt = 0; ; attempt++)
            {
                if (attempt == MaxAttempts) throw new InvalidOperationException("The audit log's head kept changing: too many concurrent writers.");
                var (headSize, etag) = await ReadHeadAsync(table, cancellationToken).ConfigureAwait(false);
                size = headSize;
                if (chunk.Count == 0) break;
                var batch = new List<TableTransactionAction>(chunk.Count * 2 + 1);
                var stored = new List<StoredAuditEntry>(chunk.Count);
                for (var i = 0; i < chunk.Count; i++)
                {
                    var e = chunk[i];
                    var text = serialize(size + i, e);
                    stored.Add(new StoredAuditEntry(size + i, text));
                    batch.Add(new TableTransactionAction(TableTransactionActionType.Add, ToEntity(size + i, e, text)));
                    batch.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(Partition, KeyRow(e.Id)) { ["Seq"] = size + i }));
                }

                var head = new TableEntity(Partition, HeadRow) { ["Size"] = size + chunk.Count };
                batch.Add(etag is { } tag
                    ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, head, tag)
                    : new TableTransactionAction(TableTransactionActionType.Add, head));
                try
                {
                    await table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
                    appended.AddRange(stored);
                    size += chunk.Count;
                    break;
                }
                catch (TableTransactionFailedException ex) when (ex.Status == 409 && ex.FailedTransactionActionIndex is { } failed && failed < batch.Count - 1 && failed % 2 == 1)
                {
                    // this event's id is in the log already (a redelivery): drop it and try the rest again
                    chunk.RemoveAt(failed / 2);
                    duplicates++;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
                {
                    // another writer appended first (the head moved, or took the sequence numbers): read the head again
                }
            }

            pending.RemoveRange(0, Math.Min(MaxPerTransaction, pending.Count));
        }

        return new AuditAppendResult(appended, duplicates, size);
    }

    private static async Task<(long Size, ETag? ETag)> ReadHeadAsync(TableClient table, CancellationToken cancellationToken)
    {
        var head = await table.GetEntityIfExistsAsync<TableEntity>(Partition, HeadRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        return head.HasValue ? (head.Value!.GetInt64("Size") ?? 0, head.Value.ETag) : (0, null);
    }

    public async Task<long> SizeAsync(CancellationToken cancellationToken) =>
        (await ReadHeadAsync(await _entries.GetAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)).Size;

    public async IAsyncEnumerable<StoredAuditEntry> ReadAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await _entries.GetAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {EntryRow(Math.Max(0, from))} and RowKey lt {EntryRow(Math.Max(0, to))}");
        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", "Text"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            // a row whose key is not a sequence number is reported by the verifier as what it is, not skipped here
            var sequence = long.TryParse(e.RowKey.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
            yield return new StoredAuditEntry(sequence, e.GetString("Text") ?? "");
        }
    }

    public async IAsyncEnumerable<StoredAuditEntry> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var table = await _entries.GetAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {EntryRow(0)} and RowKey le {EntryRow(long.MaxValue)} and At ge {query.From} and At lt {query.To}");
        if (query.Actor is { } actor) filter += " and " + TableClient.CreateQueryFilter($"Actor eq {actor}");
        if (query.Scope is { } scope) filter += " and " + TableClient.CreateQueryFilter($"Scope eq {scope}");
        if (query.Subject is { } subject) filter += " and " + TableClient.CreateQueryFilter($"Subject eq {subject}");
        if (query.Type is { } type)
        {
            // a prefix ending in '.' (admin.) selects a family of types
            filter += " and " + (type.EndsWith('.')
                ? TableClient.CreateQueryFilter($"Type ge {type} and Type lt {type[..^1] + "/"}")
                : TableClient.CreateQueryFilter($"Type eq {type}"));
        }

        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", "Text"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return new StoredAuditEntry(long.Parse(e.RowKey.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture), e.GetString("Text") ?? "");
        }
    }

    public async Task<IReadOnlyList<string>> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        var table = await _checkpoints.GetAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<string>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {EntryRow(0)} and RowKey le {EntryRow(long.MaxValue)}");
        await foreach (var e in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(e.GetString("Text") ?? "");
        }

        return list;
    }

    public async Task<(string? Text, string? Version)> ReadLastCheckpointAsync(CancellationToken cancellationToken)
    {
        var table = await _checkpoints.GetAsync(cancellationToken).ConfigureAwait(false);
        var last = await table.GetEntityIfExistsAsync<TableEntity>(Partition, HeadRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        return last.HasValue ? (last.Value!.GetString("Text"), last.Value.ETag.ToString()) : (null, null);
    }

    public async Task<bool> TryAddCheckpointAsync(long treeSize, string text, string? afterVersion, CancellationToken cancellationToken)
    {
        var table = await _checkpoints.GetAsync(cancellationToken).ConfigureAwait(false);
        // the checkpoint and the pointer to the latest in one transaction, under the pointer's ETag: one chain, never a fork
        var last = new TableEntity(Partition, HeadRow) { ["Text"] = text, ["Size"] = treeSize };
        TableTransactionAction[] batch =
        [
            new(TableTransactionActionType.Add, new TableEntity(Partition, EntryRow(treeSize)) { ["Text"] = text }),
            afterVersion is null ? new(TableTransactionActionType.Add, last) : new(TableTransactionActionType.UpdateReplace, last, new ETag(afterVersion)),
        ];
        try
        {
            await table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }

        if (checkpointBlobs is null) return true;
        if (Volatile.Read(ref _blobsCreated) == 0)
        {
            await checkpointBlobs.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _blobsCreated, 1);
        }

        // a copy nobody can change: the container's immutability policy (infra) keeps it for the retention period
        await checkpointBlobs.GetBlobClient(EntryRow(treeSize)[1..] + ".json").UploadAsync(BinaryData.FromString(text), overwrite: false, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<(long TreeSize, string Text)?> ReadLatestCopyAsync(CancellationToken cancellationToken)
    {
        if (checkpointBlobs is null) return null;
        // names are tree sizes in 19 digits: the listing's order is their order, and the last is the latest
        string? latest = null;
        try
        {
            await foreach (var blob in checkpointBlobs.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)) latest = blob.Name;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        if (latest is null || !long.TryParse(latest.AsSpan(0, Math.Max(0, latest.Length - 5)), NumberStyles.None, CultureInfo.InvariantCulture, out var size)) return null;
        var content = await checkpointBlobs.GetBlobClient(latest).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return (size, content.Value.Content.ToString());
    }

    public async Task<long> DeleteBeforeAsync(long before, CancellationToken cancellationToken)
    {
        var table = await _entries.GetAsync(cancellationToken).ConfigureAwait(false);
        // the idempotency rows of the deleted entries go with them (a redelivery that old is long past)
        await TableBatches.DeleteWhereAsync(table, TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {"k"} and RowKey lt {"l"} and Seq lt {before}"), cancellationToken).ConfigureAwait(false);
        return await TableBatches.DeleteWhereAsync(table, TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {EntryRow(0)} and RowKey lt {EntryRow(before)}"), cancellationToken).ConfigureAwait(false);
    }

    private static string EntryRow(long sequence) => "e" + sequence.ToString("D19", CultureInfo.InvariantCulture);

    private static string KeyRow(string id) => "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static TableEntity ToEntity(long sequence, AuditEvent e, string text) => new(Partition, EntryRow(sequence))
    {
        ["Text"] = text,
        // columns for queries; the text is what counts
        ["At"] = e.At,
        ["Type"] = e.Type,
        ["Actor"] = e.Actor,
        ["Scope"] = e.Scope,
        ["Subject"] = e.Subject,
    };
}
