using Azure.Data.Tables;
using Gateway.Core.Audit;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Functions.Tests.Audit;

/// <summary>The audit log over Table Storage (Azurite): sealing, verification, tampering in the table, proofs, retention and the report.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuditLogStorageTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _keyPath = Path.Combine(Path.GetTempPath(), "audit-key-" + Guid.NewGuid().ToString("N") + ".pem");

    public void Dispose() => File.Delete(_keyPath);

    private (AuditLog Log, TableClient Entries, FakeTimeProvider Time) NewLog(int sealEvery = 100, int retentionDays = 30) => NewLogWith(sealEvery, retentionDays).Log;

    private ((AuditLog Log, TableClient Entries, FakeTimeProvider Time) Log, TableClient Checkpoints) NewLogWith(int sealEvery = 100, int retentionDays = 30)
    {
        var storage = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var entries = storage.Table(azurite.UniqueName("auditlog"));
        var checkpoints = storage.Table(azurite.UniqueName("auditcp"));
        var store = new TableAuditLogStore(entries, checkpoints, storage.BlobContainer(azurite.UniqueName("auditcp")));
        var signer = EcdsaFileSigner.LoadOrCreate(_keyPath);
        var time = new FakeTimeProvider(Start);
        var options = new AuditOptions { SealEveryEntries = sealEvery, RetentionDays = retentionDays };
        return ((new AuditLog(store, signer, CheckpointVerifier.FromPem(signer.PublicKeyPem), options, time), entries, time), checkpoints);
    }

    private static AuditEvent Event(int i, string type = AuditEventTypes.KeyCreated, Dictionary<string, string>? details = null) => new()
    {
        Id = "ev-" + i, At = Start.AddSeconds(i), Type = type, Actor = i % 2 == 0 ? "admin:alice" : "gateway", Target = "key:" + i, Details = details,
    };

    [Fact]
    public async Task A_log_sealed_every_hundred_entries_verifies_proves_and_reports_a_table_edit_at_its_entry()
    {
        var (log, table, _) = NewLog();
        for (var batch = 0; batch < 5; batch++) await log.AppendAsync([.. Enumerable.Range(batch * 50, 50).Select(i => Event(i))], default);
        Assert.NotNull(await log.SealAsync(default));
        // redelivery changes nothing
        var again = await log.AppendAsync([Event(3), Event(7)], default);
        Assert.Equal((0, 2, 250L), (again.Appended, again.Duplicates, again.Size));

        var report = await log.VerifyAsync(null, null, default);
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal((250L, 250L, 3), (report.EntriesChecked, report.VerifiedSize, report.CheckpointsChecked));

        var inclusion = (await log.InclusionProofAsync(123, null, default))!;
        var path = inclusion["audit_path"]!.AsArray().Select(h => Convert.FromHexString((string)h!)).ToList();
        Assert.True(MerkleTree.VerifyInclusion(123, 250, Convert.FromHexString((string)inclusion["leaf_hash"]!), path, Convert.FromHexString((string)inclusion["checkpoint"]!["root"]!)));
        var consistency = (await log.ConsistencyProofAsync(100, 250, default))!;
        Assert.True(MerkleTree.VerifyConsistency(100, 250, Convert.FromHexString((string)consistency["first"]!["root"]!), Convert.FromHexString((string)consistency["second"]!["root"]!),
            [.. consistency["proof"]!.AsArray().Select(h => Convert.FromHexString((string)h!))]));
        Assert.Null(await log.InclusionProofAsync(250, null, default));

        // someone with write access to the table edits one entry's actor
        var row = (await table.GetEntityAsync<TableEntity>("log", "e" + 137.ToString("D19", System.Globalization.CultureInfo.InvariantCulture))).Value;
        row["Text"] = row.GetString("Text")!.Replace("\"actor\":\"gateway\"", "\"actor\":\"admin:mallory\"", StringComparison.Ordinal);
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        var damaged = await log.VerifyAsync(null, null, default);
        Assert.False(damaged.Ok);
        Assert.Equal(InconsistencyKinds.RootMismatch, damaged.First!.Kind);
        Assert.Equal(200, damaged.First.CheckpointSize);
        // a range before the damage still verifies; one across it does not
        Assert.True((await log.VerifyAsync(0, 99, default)).Ok);
        Assert.False((await log.VerifyAsync(120, 140, default)).Ok);
    }

    [Fact]
    public async Task Retention_deletes_whole_sealed_segments_and_what_remains_still_verifies()
    {
        var (log, _, time) = NewLog(sealEvery: 100, retentionDays: 30);
        foreach (var batch in Enumerable.Range(0, 230).Chunk(50)) await log.AppendAsync([.. batch.Select(i => Event(i))], default);
        time.Advance(TimeSpan.FromDays(20));
        await log.AppendAsync([.. Enumerable.Range(230, 100).Select(i => Event(i))], default);
        time.Advance(TimeSpan.FromDays(15));

        // the checkpoints at 100 and 200 are 35 days old; the one at 300 is 15
        Assert.Equal(200, await log.ApplyRetentionAsync(default));
        var report = await log.VerifyAsync(null, null, default);
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal(130, report.EntriesChecked);
        Assert.Equal(0, report.EntriesUnsealed);
        Assert.Null(await log.InclusionProofAsync(5, null, default));
    }

    [Fact]
    public async Task The_compliance_report_counts_admin_changes_safety_decisions_erasures_and_refusals()
    {
        var (log, _, _) = NewLog();
        await log.AppendAsync(
        [
            Event(1), Event(2, AuditEventTypes.BudgetSet),
            Event(3, AuditEventTypes.SafetyDecision, new() { ["decision"] = "input: redact email=2 card=1, flag ipv4=1; provider: block provider.violence=1" }),
            Event(4, AuditEventTypes.SafetyDecision, new() { ["decision"] = "output: redact email=1" }),
            Event(5, AuditEventTypes.UserDataErased, new() { ["durationMs"] = "42" }),
            Event(6, AuditEventTypes.AuthRefused, new() { ["count"] = "7" }),
            Event(7, AuditEventTypes.AuthRefused, new() { ["count"] = "3" }),
        ], default);
        await log.SealAsync(default);

        var report = await AuditReport.BuildAsync(log, Start, Start.AddMinutes(1), default);

        Assert.Equal(2, (int)report["admin_changes"]!["total"]!);
        Assert.Equal(1, (long)report["admin_changes"]!["by_type"]![AuditEventTypes.BudgetSet]!);
        var safety = report["safety"]!["by_action_and_detector"]!;
        Assert.Equal((3L, 1L, 1L, 1L), ((long)safety["redact email"]!, (long)safety["redact card"]!, (long)safety["flag ipv4"]!, (long)safety["block provider.violence"]!));
        Assert.Equal(42, (long)report["erasures"]!["requests"]![0]!["duration_ms"]!);
        Assert.Equal(10, (long)report["refused_authentication"]!);
        Assert.True((bool)report["verification"]!["ok"]!);
        // an empty period is an empty report, not an error
        var empty = await AuditReport.BuildAsync(log, Start.AddDays(-2), Start.AddDays(-1), default);
        Assert.Equal(0, (int)empty["admin_changes"]!["total"]!);
    }

    [Fact]
    public async Task A_log_cut_back_with_its_newest_checkpoints_or_with_a_checkpoint_replaced_is_caught_by_the_write_once_copies()
    {
        var ((log, entries, _), checkpoints) = NewLogWith();
        foreach (var batch in Enumerable.Range(0, 250).Chunk(50)) await log.AppendAsync([.. batch.Select(i => Event(i))], default);
        await log.SealAsync(default);
        Assert.True((await log.VerifyAsync(null, null, default)).Ok);

        // someone with the tables' keys removes the last 50 entries and the checkpoint sealing them, and moves the pointers back
        static string Row(long n) => "e" + n.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 200; i < 250; i++) await entries.DeleteEntityAsync("log", Row(i));
        await entries.UpsertEntityAsync(new TableEntity("log", "head") { ["Size"] = 200L }, TableUpdateMode.Replace);
        var at200 = (await checkpoints.GetEntityAsync<TableEntity>("log", Row(200))).Value;
        await checkpoints.DeleteEntityAsync("log", Row(250));
        await checkpoints.UpsertEntityAsync(new TableEntity("log", "head") { ["Text"] = at200.GetString("Text"), ["Size"] = 200L }, TableUpdateMode.Replace);

        var cut = await log.VerifyAsync(null, null, default);
        Assert.False(cut.Ok);
        Assert.Equal((InconsistencyKinds.Truncated, 250L), (cut.First!.Kind, cut.First.CheckpointSize));

        // put the entries back, and the latest checkpoint as one re-sealed (with the right key, at another time): valid on
        // its own, but not the checkpoint the write-once copy holds
        var ((log2, _, _), checkpoints2) = NewLogWith();
        foreach (var batch in Enumerable.Range(0, 250).Chunk(50)) await log2.AppendAsync([.. batch.Select(i => Event(i))], default);
        await log2.SealAsync(default);
        var texts = await log2.QueryAsync(new AuditQuery(Start.AddDays(-1), Start.AddDays(1)), default).Where(e => e.Sequence >= 200).Select(AuditEntryCodec.Serialize).ToListAsync();
        var previous = Checkpoint.Parse((await checkpoints2.GetEntityAsync<TableEntity>("log", Row(200))).Value.GetString("Text")!);
        using var signer = EcdsaFileSigner.LoadOrCreate(_keyPath);
        var forged = await CheckpointSealer.SealAsync(previous, texts, Start.AddHours(5), signer);
        await checkpoints2.UpsertEntityAsync(new TableEntity("log", Row(250)) { ["Text"] = forged.Serialize() }, TableUpdateMode.Replace);
        await checkpoints2.UpsertEntityAsync(new TableEntity("log", "head") { ["Text"] = forged.Serialize(), ["Size"] = 250L }, TableUpdateMode.Replace);

        var replaced = await log2.VerifyAsync(null, null, default);
        Assert.Equal((InconsistencyKinds.CheckpointCopy, 250L), (replaced.First?.Kind, replaced.First?.CheckpointSize));
    }
}
