using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Audit;
using static Gateway.Core.Tests.Audit.AuditTestLog;

namespace Gateway.Core.Tests.Audit;

/// <summary>
/// Random logs (length, checkpoint spacing, an unsealed tail) verify untouched, and any one tampering of a random
/// kind at a random place that a checkpoint covers is found, every time.
/// </summary>
public sealed class AuditTamperPropertyTests
{
    private enum Tampering { Edit, Delete, DeleteRenumbered, Insert, InsertRenumbered, Swap, SwapRenumbered, Truncate, ReplaceCheckpoint, RemoveCheckpoint, Resign }

    private sealed record RandomLog(List<string> Entries, List<string> Checkpoints, int Sealed);

    private static RandomLog LogOf(int count, int spacing)
    {
        var sealAt = Enumerable.Range(1, count / spacing).Select(i => i * spacing).ToList();
        var (entries, checkpoints) = Build(count, sealAt);
        return new RandomLog(entries, checkpoints, sealAt.LastOrDefault());
    }

    [Property(MaxTest = 300)]
    public bool An_untouched_log_verifies(PositiveInt count, PositiveInt spacing, NonNegativeInt retained)
    {
        var log = LogOf(count.Get % 200, spacing.Get % 40 + 1);
        var report = Verifier().Verify(log.Checkpoints, log.Entries);
        // after retention: the entries from any checkpoint on
        var sizes = log.Checkpoints.Select(c => (int)Checkpoint.Parse(c).TreeSize).Prepend(0).ToList();
        var start = sizes[retained.Get % sizes.Count];
        var suffix = Verifier().Verify(log.Checkpoints, log.Entries[start..]);
        return report.Ok && report.EntriesChecked == log.Entries.Count && report.EntriesUnsealed == log.Entries.Count - log.Sealed
            && suffix.Ok && suffix.EntriesChecked == log.Entries.Count - start;
    }

    [Property(MaxTest = 600)]
    public bool Any_tampering_under_a_checkpoint_is_found_and_named(PositiveInt count, PositiveInt spacing, NonNegativeInt kind, NonNegativeInt where, NonNegativeInt other)
    {
        var log = LogOf(count.Get % 200 + 2, spacing.Get % 40 + 1);
        if (log.Sealed == 0) return true;
        var tampering = (Tampering)(kind.Get % Enum.GetValues<Tampering>().Length);
        var entries = log.Entries.ToList();
        var checkpoints = log.Checkpoints.ToList();
        var i = where.Get % log.Sealed;
        switch (tampering)
        {
            case Tampering.Edit:
                entries[i] = Entry(i, i, actor: "admin:mallory");
                break;
            case Tampering.Delete:
                entries.RemoveAt(i);
                break;
            case Tampering.DeleteRenumbered:
                entries = [.. Enumerable.Range(0, entries.Count - 1).Select(s => Entry(s, s < i ? s : s + 1))];
                break;
            case Tampering.Insert:
                entries.Insert(i, Entry(i, 10_000));
                break;
            case Tampering.InsertRenumbered:
                entries = [.. Enumerable.Range(0, entries.Count + 1).Select(s => Entry(s, s < i ? s : s == i ? 10_000 : s - 1))];
                break;
            case Tampering.Swap:
            case Tampering.SwapRenumbered:
                var j = other.Get % entries.Count;
                if (j == i) j = (i + 1) % entries.Count;
                if (tampering == Tampering.Swap) (entries[i], entries[j]) = (entries[j], entries[i]);
                else entries = [.. Enumerable.Range(0, entries.Count).Select(s => Entry(s, s == i ? j : s == j ? i : s))];
                break;
            case Tampering.Truncate:
                entries = entries[..i];
                break;
            case Tampering.ReplaceCheckpoint:
                var c = other.Get % checkpoints.Count;
                var previous = c == 0 ? null : Checkpoint.Parse(checkpoints[c - 1]);
                var original = Checkpoint.Parse(checkpoints[c]);
                var from = (int)(previous?.TreeSize ?? 0);
                var forged = log.Entries.ToList();
                var target = (int)original.TreeSize - 1;
                if (target < from) target = from;
                forged[target] = Entry(target, target, actor: "admin:mallory");
                checkpoints[c] = SealNext(previous, forged[from..(target + 1)], original.At, Key).Serialize();
                break;
            case Tampering.RemoveCheckpoint:
                if (checkpoints.Count < 2) return true;
                checkpoints.RemoveAt(other.Get % (checkpoints.Count - 1));
                break;
            case Tampering.Resign:
                var r = other.Get % checkpoints.Count;
                checkpoints[r] = Resign(Checkpoint.Parse(checkpoints[r]), OtherKey).Serialize();
                break;
        }

        var report = Verifier().Verify(checkpoints, entries, new VerificationRange(0, null));
        return report.First is { } first && ExpectedKinds(tampering).Contains(first.Kind);
    }

    private static string[] ExpectedKinds(Tampering tampering) => tampering switch
    {
        // the forged entry takes the original's place in the tree: a checkpoint right after it sees that first
        Tampering.Insert => [InconsistencyKinds.Duplicate, InconsistencyKinds.RootMismatch],
        Tampering.Swap => [InconsistencyKinds.OutOfOrder],
        Tampering.Truncate => [InconsistencyKinds.Truncated],
        // deleting the last entry, or one entry fewer, may end the log before the last checkpoint is reached
        Tampering.Delete => [InconsistencyKinds.Gap, InconsistencyKinds.Truncated],
        Tampering.DeleteRenumbered => [InconsistencyKinds.RootMismatch, InconsistencyKinds.Truncated],
        // a replaced last checkpoint has no successor whose link breaks: its root no longer matches the entries
        Tampering.ReplaceCheckpoint => [InconsistencyKinds.CheckpointChain, InconsistencyKinds.RootMismatch],
        Tampering.RemoveCheckpoint => [InconsistencyKinds.CheckpointChain],
        Tampering.Resign => [InconsistencyKinds.Signature],
        _ => [InconsistencyKinds.RootMismatch],
    };
}
