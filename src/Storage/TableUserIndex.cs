using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Where each end user's usage is, so that exporting or erasing one user reads only their rows (the records are filed
/// by time: finding a user among them would read the whole table). One partition per user — the SHA-256 of the value
/// records hold for them (plain id or pseudonym), so any id fits a key — holding:
/// <list type="bullet">
/// <item><c>r|&lt;5-minute bucket&gt;|&lt;request id&gt;</c>, one per record: where the record is. Deleted with the record
/// (retention, erasure).</item>
/// <item><c>h|&lt;yyyyMMddHH&gt;</c>, one per hour the user had records: which hourly, daily and monthly rollup rows name
/// them, after their records are gone. Kept while monthly rollups are (retention deletes them with the month).</item>
/// </list>
/// Written with upserts beside the records, so rewriting a redelivered batch changes nothing.
/// </summary>
public sealed class TableUserIndex(TableClient table)
{
    private const string RecordPrefix = "r|";
    private const string HourPrefix = "h|";
    private readonly LazyTable _table = new(table);

    /// <summary>The partition of a user (as records hold them).</summary>
    public static string PartitionFor(string user) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)));

    public async Task AddAsync(IReadOnlyList<UsageRecord> batch, CancellationToken cancellationToken)
    {
        var rows = batch.Where(r => r.User is not null).SelectMany(r =>
        {
            var partition = PartitionFor(r.User!);
            return new[]
            {
                new TableEntity(partition, RecordPrefix + UsageBuckets.Key(r.At, Granularity.FiveMinutes) + "|" + r.RequestId),
                new TableEntity(partition, HourPrefix + UsageBuckets.Key(r.At, Granularity.Hour)),
            };
        }).ToList();
        if (rows.Count == 0) return;
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.SubmitAsync(client, rows, TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user's records: (5-minute bucket, request id), in time order.</summary>
    public async IAsyncEnumerable<(string Bucket, string RequestId)> RecordsAsync(string user, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var rowKey in RowKeysAsync(user, RecordPrefix, cancellationToken).ConfigureAwait(false))
        {
            var bar = rowKey.IndexOf('|', StringComparison.Ordinal);
            yield return (rowKey[..bar], rowKey[(bar + 1)..]);
        }
    }

    /// <summary>The hours the user had records in.</summary>
    public async IAsyncEnumerable<DateTimeOffset> HoursAsync(string user, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var rowKey in RowKeysAsync(user, HourPrefix, cancellationToken).ConfigureAwait(false)) yield return UsageBuckets.Parse(rowKey);
    }

    /// <summary>Deletes the user's whole partition.</summary>
    public async Task ForgetAsync(string user, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.DeleteWhereAsync(client, TableClient.CreateQueryFilter($"PartitionKey eq {PartitionFor(user)}"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the entries of records that are being deleted (retention).</summary>
    public async Task RemoveRecordsAsync(IEnumerable<UsageRecordKey> records, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.DeleteRowsAsync(client,
            records.Select(r => (PartitionFor(r.User), RecordPrefix + r.Bucket + "|" + r.RequestId)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a user's hour entries before <paramref name="cutoff"/> (their monthly rollups are being deleted).</summary>
    public async Task ForgetHoursBeforeAsync(string user, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        var end = HourPrefix + UsageBuckets.Key(cutoff, Granularity.Hour);
        await TableBatches.DeleteWhereAsync(client,
            TableClient.CreateQueryFilter($"PartitionKey eq {PartitionFor(user)} and RowKey ge {HourPrefix} and RowKey lt {end}"), cancellationToken).ConfigureAwait(false);
    }

    private async IAsyncEnumerable<string> RowKeysAsync(string user, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        var end = prefix[..^1] + (char)(prefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionFor(user)} and RowKey ge {prefix} and RowKey lt {end}");
        await foreach (var e in client.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return e.RowKey[prefix.Length..];
    }
}

/// <summary>Where a record of a user is: its 5-minute bucket and request id.</summary>
public sealed record UsageRecordKey(string User, string Bucket, string RequestId);
