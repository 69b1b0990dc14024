using Gateway.Core.Audit;
using static Gateway.Core.Tests.Audit.AuditTestLog;

namespace Gateway.Core.Tests.Audit;

/// <summary>
/// Each kind of tampering on a log of 55 entries sealed at 10, 20, 30, 40 and 50 (the last 5 unsealed), found and named.
/// </summary>
public sealed class AuditVerifierTests
{
    private static readonly int[] SealAt = [10, 20, 30, 40, 50];

    private static (List<string> Entries, List<string> Checkpoints) Log() => Build(55, SealAt);

    private static VerificationReport Verify(List<string> entries, List<string> checkpoints, VerificationRange range = default) =>
        Verifier().Verify(checkpoints, entries, range);

    private static void AssertFound(VerificationReport report, string kind, long? sequence = null, long? checkpointSize = null)
    {
        Assert.False(report.Ok);
        Assert.True(kind == report.First!.Kind, $"expected {kind}, got {report.First.Kind}: {report.First.Message}");
        if (sequence is not null) Assert.Equal(sequence, report.First.Sequence);
        if (checkpointSize is not null) Assert.Equal(checkpointSize, report.First.CheckpointSize);
    }

    [Fact]
    public void An_untouched_log_verifies_and_counts_its_unsealed_tail()
    {
        var (entries, checkpoints) = Log();
        var report = Verify(entries, checkpoints);
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal(55, report.EntriesChecked);
        Assert.Equal(5, report.CheckpointsChecked);
        Assert.Equal(5, report.EntriesUnsealed);
        Assert.Equal(50, report.VerifiedSize);
    }

    [Fact]
    public void An_empty_log_verifies()
    {
        Assert.True(Verify([], []).Ok);
        var (entries, checkpoints) = Build(0, [0]);
        Assert.True(Verify(entries, checkpoints).Ok);
    }

    [Fact]
    public void An_edited_field_breaks_the_root_of_the_next_checkpoint()
    {
        var (entries, checkpoints) = Log();
        entries[15] = Entry(15, 15, actor: "admin:mallory");
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.RootMismatch, checkpointSize: 20);
    }

    [Fact]
    public void A_deleted_entry_is_a_gap_or_if_renumbered_a_root_mismatch()
    {
        var (entries, checkpoints) = Log();
        entries.RemoveAt(15);
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.Gap, sequence: 15);
        var renumbered = Enumerable.Range(0, 54).Select(i => Entry(i, i < 15 ? i : i + 1)).ToList();
        AssertFound(Verify(renumbered, checkpoints), InconsistencyKinds.RootMismatch, checkpointSize: 20);
    }

    [Fact]
    public void An_inserted_entry_is_a_duplicate_or_if_renumbered_a_root_mismatch()
    {
        var (entries, checkpoints) = Log();
        entries.Insert(15, Entry(15, 900));
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.Duplicate, sequence: 15);
        var renumbered = Enumerable.Range(0, 56).Select(i => Entry(i, i < 15 ? i : i == 15 ? 900 : i - 1)).ToList();
        AssertFound(Verify(renumbered, checkpoints), InconsistencyKinds.RootMismatch, checkpointSize: 20);
    }

    [Fact]
    public void Two_swapped_entries_are_out_of_order_or_if_renumbered_a_root_mismatch()
    {
        var (entries, checkpoints) = Log();
        (entries[15], entries[16]) = (entries[16], entries[15]);
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.OutOfOrder, sequence: 15);
        var renumbered = Enumerable.Range(0, 55).Select(i => Entry(i, i == 15 ? 16 : i == 16 ? 15 : i)).ToList();
        AssertFound(Verify(renumbered, checkpoints), InconsistencyKinds.RootMismatch, checkpointSize: 20);
    }

    [Fact]
    public void A_cut_tail_is_truncated()
    {
        var (entries, checkpoints) = Log();
        AssertFound(Verify(entries[..45], checkpoints), InconsistencyKinds.Truncated, sequence: 45, checkpointSize: 50);
        AssertFound(Verify([], checkpoints, new VerificationRange(0, null)), InconsistencyKinds.Truncated, sequence: 0);
        // with no start given, no entries at all is what retention leaves after the last checkpoint
        Assert.True(Verify([], checkpoints).Ok);
    }

    [Fact]
    public void A_replaced_checkpoint_breaks_the_chain_and_a_replaced_last_one_the_root()
    {
        var (entries, checkpoints) = Log();
        var forged = entries.ToList();
        forged[15] = Entry(15, 15, actor: "admin:mallory");
        var parsed = checkpoints.Select(Checkpoint.Parse).ToList();
        // re-sealed over the forged entries by the right key, chained to the one before: the next one no longer links to it
        var replaced = checkpoints.ToList();
        replaced[1] = SealNext(parsed[0], forged[10..20], parsed[1].At, Key).Serialize();
        AssertFound(Verify(entries, replaced), InconsistencyKinds.CheckpointChain, checkpointSize: 30);
        // a different tree size, likewise
        replaced[1] = SealNext(parsed[0], forged[10..21], parsed[1].At, Key).Serialize();
        AssertFound(Verify(entries, replaced), InconsistencyKinds.CheckpointChain, checkpointSize: 30);
        // the last one has no successor to break: its root no longer matches the entries
        var last = checkpoints.ToList();
        forged[45] = Entry(45, 45, actor: "admin:mallory");
        last[4] = SealNext(parsed[3], forged[40..50], parsed[4].At, Key).Serialize();
        AssertFound(Verify(entries, last), InconsistencyKinds.RootMismatch, checkpointSize: 50);
    }

    [Fact]
    public void A_removed_checkpoint_breaks_the_chain()
    {
        var (entries, checkpoints) = Log();
        var middle = checkpoints.ToList();
        middle.RemoveAt(2);
        AssertFound(Verify(entries, middle), InconsistencyKinds.CheckpointChain, checkpointSize: 40);
        AssertFound(Verify(entries, checkpoints[1..]), InconsistencyKinds.CheckpointChain, checkpointSize: 20);
    }

    [Fact]
    public void A_checkpoint_signed_with_another_key_is_refused()
    {
        var (entries, checkpoints) = Log();
        checkpoints[2] = Resign(Checkpoint.Parse(checkpoints[2]), OtherKey).Serialize();
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.Signature, checkpointSize: 30);
        var (_, foreign) = Build(55, SealAt, OtherKey);
        AssertFound(Verify(entries, foreign), InconsistencyKinds.Signature, checkpointSize: 10);
    }

    [Fact]
    public void An_altered_signed_field_is_refused()
    {
        var (entries, checkpoints) = Log();
        checkpoints[1] = checkpoints[1].Replace("T09:20:00", "T09:21:00", StringComparison.Ordinal);
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.Signature, checkpointSize: 20);
    }

    [Fact]
    public void A_signed_checkpoint_whose_frontier_is_not_its_root_is_refused()
    {
        var (entries, checkpoints) = Log();
        var c = Checkpoint.Parse(checkpoints[0]);
        var badFrontier = new Checkpoint(c.TreeSize, c.Root, c.At, c.PreviousHash, [.. c.Frontier.Reverse()], Key.KeyId, []);
        checkpoints[0] = Resign(badFrontier, Key).Serialize();
        AssertFound(Verify(entries, checkpoints), InconsistencyKinds.Frontier, checkpointSize: 10);
    }

    [Fact]
    public void Garbage_is_reported_not_thrown()
    {
        var (entries, checkpoints) = Log();
        var damaged = entries.ToList();
        damaged[12] = "{\"sequence\":12,";
        AssertFound(Verify(damaged, checkpoints), InconsistencyKinds.Unparseable, sequence: 12);
        damaged[12] = null!;
        AssertFound(Verify(damaged, checkpoints), InconsistencyKinds.Unparseable, sequence: 12);
        AssertFound(Verify(entries, [.. checkpoints[..2], "{\"treeSize\":", .. checkpoints[3..]]), InconsistencyKinds.Unparseable);
        AssertFound(Verify(entries, [.. checkpoints[..2], null!]), InconsistencyKinds.Unparseable);
        AssertFound(Verify(["", "[]"], checkpoints), InconsistencyKinds.Unparseable);
        Assert.False(Verifier().Verify(null!, ["x"]).Ok);
    }

    [Fact]
    public void After_retention_the_entries_verify_from_the_checkpoint_they_start_at()
    {
        var (entries, checkpoints) = Log();
        var report = Verify(entries[20..], checkpoints);
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal(35, report.EntriesChecked);
        Assert.Equal(5, report.EntriesUnsealed);
        // tampering after the retained start is still found
        var edited = entries[20..];
        edited[12] = Entry(32, 32, actor: "admin:mallory");
        AssertFound(Verify(edited, checkpoints), InconsistencyKinds.RootMismatch, checkpointSize: 40);
        // entries that start where no checkpoint is: the ones since the last checkpoint are missing
        AssertFound(Verify(entries[25..], checkpoints), InconsistencyKinds.Gap, sequence: 20);
        // the caller knows the log starts at 20: entries from 30 on mean 20 to 29 are gone
        AssertFound(Verify(entries[30..], checkpoints, new VerificationRange(20, null)), InconsistencyKinds.Gap, sequence: 20);
    }

    [Fact]
    public void A_range_is_read_from_the_checkpoint_before_it_to_the_checkpoint_after_it()
    {
        var (entries, checkpoints) = Log();
        var range = AuditVerifier.RangeFor(checkpoints, 23, 37);
        Assert.Equal(new VerificationRange(20, 40), range);
        var report = Verify(entries[20..40], checkpoints, range);
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal(20, report.EntriesChecked);
        Assert.Equal(40, report.VerifiedSize);
        Assert.Equal(0, report.EntriesUnsealed);
        // more entries than the range are not read; fewer are truncated
        Assert.True(Verify(entries[20..], checkpoints, range).Ok);
        AssertFound(Verify(entries[20..35], checkpoints, range), InconsistencyKinds.Truncated, sequence: 35);
        // a range past the last checkpoint reads to the end of the log
        Assert.Equal(new VerificationRange(50, null), AuditVerifier.RangeFor(checkpoints, 52, 54));
        Assert.True(Verify(entries[50..], checkpoints, AuditVerifier.RangeFor(checkpoints, 52, 54)).Ok);
        Assert.Equal(new VerificationRange(0, 10), AuditVerifier.RangeFor(checkpoints, 0, 3));
    }

    [Fact]
    public async Task Entries_can_be_streamed()
    {
        var (entries, checkpoints) = Log();
        var report = await Verifier().VerifyAsync(checkpoints, Stream(entries));
        Assert.True(report.Ok, report.First?.Message);
        Assert.Equal(55, report.EntriesChecked);
        entries[3] = Entry(3, 4);
        AssertFound(await Verifier().VerifyAsync(checkpoints, Stream(entries)), InconsistencyKinds.RootMismatch, checkpointSize: 10);

        static async IAsyncEnumerable<string> Stream(IEnumerable<string> items)
        {
            foreach (var item in items)
            {
                await Task.Yield();
                yield return item;
            }
        }
    }
}
