using Gateway.Core.Privacy;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Storage;

/// <summary>Logged content in Table Storage (Azurite): by user for export and erasure, by age for retention.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableContentLogStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static ContentLogEntry Entry(string id, string? user, DateTimeOffset at) =>
        new(id, at, "key_1", "payments", user, "gpt-4o", "[{\"role\":\"user\",\"content\":\"mail <EMAIL_1>\"}]", "sent", false);

    [Fact]
    public async Task Entries_are_read_and_erased_per_user_and_expire_by_age()
    {
        var store = new TableContentLogStore(StorageConnection.FromConnectionString(azurite.ConnectionString).Table(azurite.UniqueName("content")));
        await store.WriteAsync([Entry("r1", "alice", Now), Entry("r2", "alice", Now.AddDays(-40)), Entry("r3", "bob", Now), Entry("r4", null, Now)], default);
        // a retried write leaves one row
        await store.WriteAsync([Entry("r1", "alice", Now)], default);

        var alice = new List<ContentLogEntry>();
        await foreach (var e in store.ReadUserAsync("alice", default)) alice.Add(e);
        Assert.Equal(["r1", "r2"], alice.Select(e => e.RequestId).Order());
        Assert.Equal(Entry("r1", "alice", Now), alice.Single(e => e.RequestId == "r1"));

        Assert.Equal(1, await store.DeleteBeforeAsync(Now.AddDays(-30), default));
        Assert.Equal(1, await store.DeleteUserAsync("alice", default));
        Assert.Equal(0, await store.DeleteUserAsync("alice", default));
        var bob = new List<ContentLogEntry>();
        await foreach (var e in store.ReadUserAsync("bob", default)) bob.Add(e);
        Assert.Single(bob);
    }
}
