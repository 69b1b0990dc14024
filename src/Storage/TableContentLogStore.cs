using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Gateway.Core.Privacy;

namespace Gateway.Storage;

/// <summary>
/// Logged prompts and answers in Table Storage: one partition per end user (the SHA-256 of the user as records store
/// it, so the partition key names nobody; requests without a user share one), one row per request (upserted: a retried
/// write leaves one row). A user's export and erasure read and delete one partition; retention deletes by age.
/// </summary>
public sealed class TableContentLogStore(TableClient table) : IContentLogStore
{
    private const string NoUser = "none";
    private readonly LazyTable _table = new(table);

    public async Task WriteAsync(IReadOnlyList<ContentLogEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) return;
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await TableBatches.SubmitAsync(client, entries.Select(ToEntity), TableTransactionActionType.UpsertReplace, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<ContentLogEntry> ReadUserAsync(string user, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in client.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(user)}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(e);
        }
    }

    public async Task<long> DeleteUserAsync(string user, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        return await TableBatches.DeleteWhereAsync(client, TableClient.CreateQueryFilter($"PartitionKey eq {Partition(user)}"), cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        return await TableBatches.DeleteWhereAsync(client, TableClient.CreateQueryFilter($"At lt {cutoff}"), cancellationToken).ConfigureAwait(false);
    }

    private static string Partition(string? user) => user is null ? NoUser : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)));

    private static TableEntity ToEntity(ContentLogEntry e) => new(Partition(e.User), e.RequestId)
    {
        ["At"] = e.At, ["KeyId"] = e.KeyId, ["Team"] = e.Team, ["User"] = e.User, ["Model"] = e.Model,
        ["Request"] = e.Request, ["Response"] = e.Response, ["Truncated"] = e.Truncated,
    };

    private static ContentLogEntry FromEntity(TableEntity e) => new(e.RowKey, e.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue, e.GetString("KeyId") ?? "",
        e.GetString("Team"), e.GetString("User"), e.GetString("Model"), e.GetString("Request") ?? "", e.GetString("Response"), e.GetBoolean("Truncated") ?? false);
}
