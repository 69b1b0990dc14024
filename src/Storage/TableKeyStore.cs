using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Gateway.Core.Auth;

namespace Gateway.Storage;

/// <summary>
/// Gateway keys in Table Storage: one row per key in partition "key", the row key being the key's
/// SHA-256 hash, so authentication is a single point read. The plain key is never stored.
/// </summary>
public sealed class TableKeyStore(TableClient table) : IKeyStore
{
    private const string Partition = "key";
    private int _created;

    private async ValueTask EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 1) return;
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _created, 1);
    }

    public async Task<GatewayKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(Partition, hash, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async Task<bool> AddAsync(GatewayKeyRecord record, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(ToEntity(record), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<GatewayKeyRecord>();
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(FromEntity(entity));
        return list.OrderBy(r => r.CreatedAt).ToList();
    }

    public async Task<GatewayKeyRecord?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition && e.GetString("Id") == id, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity.GetDateTimeOffset("RevokedAt") is null)
            {
                entity["RevokedAt"] = at;
                await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            }
            return FromEntity(entity);
        }
        return null;
    }

    internal static TableEntity ToEntity(GatewayKeyRecord r) => new(Partition, r.Hash)
    {
        ["Id"] = r.Id,
        ["Prefix"] = r.Prefix,
        ["Name"] = r.Name,
        ["User"] = r.User,
        ["Team"] = r.Team,
        ["AllowedModels"] = JsonSerializer.Serialize(r.AllowedModels),
        ["Tags"] = JsonSerializer.Serialize(r.Tags),
        ["CreatedAt"] = r.CreatedAt,
        ["RevokedAt"] = r.RevokedAt,
    };

    internal static GatewayKeyRecord FromEntity(TableEntity e) => new(
        e.GetString("Id") ?? e.RowKey,
        e.RowKey,
        e.GetString("Prefix") ?? "",
        e.GetString("Name") ?? "",
        e.GetString("User"),
        e.GetString("Team"),
        JsonSerializer.Deserialize<List<string>>(e.GetString("AllowedModels") ?? "[]") ?? [],
        JsonSerializer.Deserialize<Dictionary<string, string>>(e.GetString("Tags") ?? "{}") ?? [],
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.UnixEpoch,
        e.GetDateTimeOffset("RevokedAt"));
}
