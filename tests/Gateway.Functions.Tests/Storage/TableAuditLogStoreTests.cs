using Gateway.Core.Audit;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Storage;

/// <summary>The audit log's Table Storage against Azurite: gap-free numbering and each event once, whatever the concurrency and redelivery.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableAuditLogStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private TableAuditLogStore NewStore()
    {
        var storage = StorageConnection.FromConnectionString(azurite.ConnectionString);
        return new TableAuditLogStore(storage.Table(azurite.UniqueName("audit")), storage.Table(azurite.UniqueName("auditcp")), storage.BlobContainer(azurite.UniqueName("auditcp")));
    }

    private static AuditEvent Event(int i) => new() { Id = "ev-" + i, At = Start.AddSeconds(i), Type = AuditEventTypes.KeyCreated, Actor = "admin", Target = "key:" + i };

    private static string Text(long sequence, AuditEvent e) => $"{sequence}|{e.Id}";

    [Fact]
    public async Task Concurrent_writers_with_redelivered_events_append_each_event_once_with_gap_free_numbers()
    {
        var store = NewStore();
        // four writers, each with an overlapping half of 120 events (every event is delivered to two writers), in batches
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var mine = Enumerable.Range(0, 120).Where(i => (i / 10 + w) % 4 < 2).Select(Event).ToList();
            foreach (var batch in mine.Chunk(13)) await store.AppendAsync(batch, Text, default);
        })).ToList();
        await Task.WhenAll(writers);

        var entries = new List<StoredAuditEntry>();
        await foreach (var e in store.ReadAsync(0, long.MaxValue, default)) entries.Add(e);

        Assert.Equal(120, await store.SizeAsync(default));
        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.All(entries, e => Assert.StartsWith(e.Sequence + "|", e.Text, StringComparison.Ordinal));
        Assert.Equal(120, entries.Select(e => e.Text.Split('|')[1]).Distinct().Count());
    }

    [Fact]
    public async Task A_batch_redelivered_whole_or_in_part_appends_nothing_twice()
    {
        var store = NewStore();
        var first = await store.AppendAsync([.. Enumerable.Range(0, 60).Select(Event)], Text, default);
        var again = await store.AppendAsync([.. Enumerable.Range(50, 20).Select(Event), Event(3), Event(70)], Text, default);

        Assert.Equal(60, first.Appended.Count);
        Assert.Equal([60L, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70], again.Appended.Select(e => e.Sequence));
        Assert.Equal(11, again.Duplicates);
        Assert.Equal(71, again.Size);
    }

    [Fact]
    public async Task Checkpoints_are_kept_once_per_size_in_order_and_retention_deletes_whole_prefixes()
    {
        var store = NewStore();
        await store.AppendAsync([.. Enumerable.Range(0, 30).Select(Event)], Text, default);
        Assert.Equal((null, null), await store.ReadLastCheckpointAsync(default));
        Assert.True(await store.TryAddCheckpointAsync(10, "cp10", null, default));
        var (last, version) = await store.ReadLastCheckpointAsync(default);
        Assert.Equal("cp10", last);
        // two sealers that read the same latest checkpoint: the second is refused, so the chain cannot fork
        Assert.True(await store.TryAddCheckpointAsync(20, "cp20", version, default));
        Assert.False(await store.TryAddCheckpointAsync(25, "cp25", version, default));
        Assert.False(await store.TryAddCheckpointAsync(10, "forged cp10", null, default));

        Assert.Equal(["cp10", "cp20"], await store.ReadCheckpointsAsync(default));
        Assert.Equal("cp20", (await store.ReadLastCheckpointAsync(default)).Text);
        Assert.Equal(10, await store.DeleteBeforeAsync(10, default));
        var left = new List<long>();
        await foreach (var e in store.ReadAsync(0, 100, default)) left.Add(e.Sequence);
        Assert.Equal(Enumerable.Range(10, 20).Select(i => (long)i), left);
        // the deleted events' ids are forgotten with them; the others still count as appended
        var again = await store.AppendAsync([Event(15)], Text, default);
        Assert.Equal(1, again.Duplicates);
    }

    [Fact]
    public async Task Events_are_found_by_subject_type_family_and_time_even_over_all_time()
    {
        var store = NewStore();
        await store.AppendAsync(
        [
            Event(1) with { Subject = "u_a" }, Event(2) with { Subject = "u_b", Type = AuditEventTypes.SafetyDecision }, Event(3) with { Subject = "u_a", Type = AuditEventTypes.BudgetSet },
        ], Text, default);

        async Task<List<long>> Find(AuditQuery q)
        {
            var found = new List<long>();
            await foreach (var e in store.QueryAsync(q, default)) found.Add(e.Sequence);
            return found;
        }

        var allTime = (From: new DateTimeOffset(1601, 1, 2, 0, 0, 0, TimeSpan.Zero), To: new DateTimeOffset(9999, 12, 30, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([0L, 2], await Find(new AuditQuery(allTime.From, allTime.To, Subject: "u_a")));
        Assert.Equal([0L, 2], await Find(new AuditQuery(allTime.From, allTime.To, Type: "admin.")));
        Assert.Equal([1L], await Find(new AuditQuery(Start.AddSeconds(2), Start.AddSeconds(3))));
    }
}
