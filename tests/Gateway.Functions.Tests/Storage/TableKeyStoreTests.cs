using Azure.Data.Tables;
using Gateway.Core.Auth;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Storage;

/// <summary>The Table Storage key store against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableKeyStoreTests(AzuriteFixture azurite)
{
    private TableClient NewTable() => StorageConnection.FromConnectionString(azurite.ConnectionString).Table(azurite.UniqueName("keys"));

    [Fact]
    public async Task Stores_the_hash_never_the_plain_key()
    {
        var table = NewTable();
        var gateway = new TestGateway(new TableKeyStore(table));
        var plain = await gateway.CreateKeyAsync("svc", "payments", "bob");

        var rows = new List<TableEntity>();
        await foreach (var e in table.QueryAsync<TableEntity>()) rows.Add(e);
        var row = Assert.Single(rows);
        Assert.Equal(KeyHasher.Hash(plain), row.RowKey);
        foreach (var (name, value) in row)
        {
            Assert.DoesNotContain(plain, value?.ToString() ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain(plain[10..30], value?.ToString() ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Round_trips_the_principal_and_revokes()
    {
        var store = new TableKeyStore(NewTable());
        var record = new GatewayKeyRecord("key_abc", KeyHasher.Hash("sk-gw-x"), "sk-gw-x…", "n", "u", "t", ["mock-1", "mock-2"],
            new Dictionary<string, string> { ["env"] = "prod", ["cost-center"] = "42" }, DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(await store.AddAsync(record, default));
        Assert.False(await store.AddAsync(record, default));

        var found = await store.FindByHashAsync(record.Hash, default);
        Assert.NotNull(found);
        Assert.Equal(record.AllowedModels, found!.AllowedModels);
        Assert.Equal(record.Tags, found.Tags);
        Assert.Equal(record.CreatedAt, found.CreatedAt);
        Assert.Equal(("u", "t", "n"), (found.User, found.Team, found.Name));

        var revoked = await store.RevokeAsync("key_abc", DateTimeOffset.UnixEpoch.AddDays(1), default);
        Assert.True(revoked!.IsRevoked);
        Assert.True((await store.FindByHashAsync(record.Hash, default))!.IsRevoked);
        Assert.Null(await store.RevokeAsync("key_missing", DateTimeOffset.UnixEpoch, default));
        Assert.Single(await store.ListAsync(default));
    }

    [Fact]
    public async Task Full_admin_flow_through_functions_on_azurite()
    {
        var gateway = new TestGateway(new TableKeyStore(NewTable()));
        var plain = await gateway.CreateKeyAsync();
        var chat = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", plain);
        await gateway.Chat.Run(chat.Request);
        Assert.Equal(200, chat.Response.StatusCode);

        var id = (await gateway.Runtime.Keys.ListAsync(default)).Single().Id;
        var revoke = TestGateway.Request("DELETE", "/gateway/keys/" + id, key: TestGateway.AdminKey);
        await gateway.Admin.Revoke(revoke.Request, id);
        Assert.Equal(200, revoke.Response.StatusCode);

        // A second instance (its own cache) sharing the table sees the revoke.
        var other = new TestGateway(gateway.Keys);
        chat = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", plain);
        await other.Chat.Run(chat.Request);
        Assert.Equal(401, chat.Response.StatusCode);
    }

    [Fact]
    public async Task Dev_key_bootstrap_is_idempotent()
    {
        var gateway = new TestGateway(new TableKeyStore(NewTable()));
        Assert.True(await gateway.Runtime.Keys.EnsureKeyAsync("sk-gw-dev-local", "dev", default));
        Assert.False(await gateway.Runtime.Keys.EnsureKeyAsync("sk-gw-dev-local", "dev", default));
        Assert.Single(await gateway.Runtime.Keys.ListAsync(default));
    }
}
