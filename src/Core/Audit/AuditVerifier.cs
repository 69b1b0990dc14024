using System.Text;

namespace Gateway.Core.Audit;

/// <summary>What kinds of damage <see cref="AuditVerifier"/> reports.</summary>
public static class InconsistencyKinds
{
    /// <summary>A sequence number is missing: an entry was deleted, or entries start after a point no checkpoint seals.</summary>
    public const string Gap = "gap";

    /// <summary>A sequence number appears again.</summary>
    public const string Duplicate = "duplicate";

    /// <summary>An entry comes after one with a higher sequence number.</summary>
    public const string OutOfOrder = "out_of_order";

    /// <summary>An entry or checkpoint that cannot be read.</summary>
    public const string Unparseable = "unparseable";

    /// <summary>The entries do not hash to a checkpoint's root: one was edited, inserted, deleted or moved (and renumbered).</summary>
    public const string RootMismatch = "root_mismatch";

    /// <summary>A checkpoint does not name the one before it: a checkpoint was replaced or removed.</summary>
    public const string CheckpointChain = "checkpoint_chain";

    /// <summary>A checkpoint's signature is not the verifying key's: forged, altered, or signed with another key.</summary>
    public const string Signature = "signature";

    /// <summary>A checkpoint's frontier does not hash to its root, so nothing can be verified from it.</summary>
    public const string Frontier = "frontier";

    /// <summary>The entries end before the last checkpoint's size (or before the end of the range asked for).</summary>
    public const string Truncated = "truncated";

    /// <summary>A checkpoint's write-once copy differs from the one in the log's table (the table's was replaced).</summary>
    public const string CheckpointCopy = "checkpoint_copy";
}

/// <summary>The first thing found wrong: its <see cref="InconsistencyKinds">kind</see>, the entry's sequence or the checkpoint's size where it shows, and what it means.</summary>
public sealed record Inconsistency(string Kind, long? Sequence, long? CheckpointSize, string Message);

/// <summary>
/// The outcome of a verification. <see cref="EntriesUnsealed"/> entries came after the last checkpoint: checked for
/// order and form, not yet provable, and not an error. <see cref="VerifiedSize"/> is the tree size up to which the
/// entries read were proved by a checkpoint's root.
/// </summary>
public sealed record VerificationReport(long EntriesChecked, int CheckpointsChecked, long EntriesUnsealed, long VerifiedSize, Inconsistency? First)
{
    public bool Ok => First is null;
}

/// <summary>
/// Which entries a verification reads: from sequence <see cref="Start"/> (0, or a checkpoint's tree size) up to tree
/// size <see cref="End"/> exclusive (null: the end of the log). Pick one with <see cref="AuditVerifier.RangeFor"/>.
/// A null start takes whatever retention left: the first entry's sequence, or with no entries the last checkpoint's
/// size. Entries deleted up to a checkpoint then look like retention, so a caller that knows where the log starts
/// says so.
/// </summary>
public readonly record struct VerificationRange(long? Start, long? End);

/// <summary>
/// Checks an audit log against its checkpoints with the public key only. Every checkpoint is checked first (signature,
/// chain, frontier; they are few and held in memory), then the entries are read once, as a stream, from the latest
/// checkpoint at or before where they start: each is parsed, its sequence checked, its leaf hash appended to that
/// checkpoint's frontier, and at each later checkpoint's size the root is compared. Damaged input is reported, never
/// thrown; the walk stops at the first inconsistency.
/// </summary>
/// <remarks>
/// Retention may delete entries only up to a checkpoint's size (entries start at 0 or at a checkpoint's tree size),
/// and must keep every checkpoint, so the chain can be followed from the first. Entries removed from the end together
/// with the checkpoints after them look like a log that was never longer: catching that needs the latest checkpoint
/// (or its size) kept somewhere the writer cannot reach.
/// </remarks>
public sealed class AuditVerifier(CheckpointVerifier keys)
{
    private readonly CheckpointVerifier _keys = keys ?? throw new ArgumentNullException(nameof(keys));

    /// <param name="checkpoints">The stored checkpoints (<see cref="Checkpoint.Serialize"/>), oldest first.</param>
    /// <param name="entries">The stored entry texts (<see cref="AuditEntryCodec.Serialize"/>) in the range, in sequence order.</param>
    public VerificationReport Verify(IReadOnlyList<string> checkpoints, IEnumerable<string> entries, VerificationRange range = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var walk = new Walk(_keys, checkpoints, range);
        if (walk.Going)
        {
            foreach (var entry in entries)
            {
                if (!walk.Add(entry)) break;
            }
        }

        return walk.Finish();
    }

    /// <inheritdoc cref="Verify"/>
    public async ValueTask<VerificationReport> VerifyAsync(IReadOnlyList<string> checkpoints, IAsyncEnumerable<string> entries, VerificationRange range = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var walk = new Walk(_keys, checkpoints, range);
        if (walk.Going)
        {
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (!walk.Add(entry)) break;
            }
        }

        return walk.Finish();
    }

    /// <summary>
    /// The entries to read to verify sequences <paramref name="from"/> to <paramref name="to"/> (inclusive): from the
    /// latest checkpoint at or before <paramref name="from"/>, whose frontier stands for everything earlier, to the first
    /// checkpoint after <paramref name="to"/>, which seals the range (or the end of the log, if none does yet).
    /// Unreadable checkpoints are passed over here; <see cref="Verify"/> reports them.
    /// </summary>
    public static VerificationRange RangeFor(IReadOnlyList<string> checkpoints, long from, long to)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        long start = 0;
        long? end = null;
        foreach (var text in checkpoints)
        {
            if (text is null) continue;
            Checkpoint checkpoint;
            try
            {
                checkpoint = Checkpoint.Parse(text);
            }
            catch (FormatException)
            {
                continue;
            }

            if (checkpoint.TreeSize <= from) start = Math.Max(start, checkpoint.TreeSize);
            if (checkpoint.TreeSize > to) end = Math.Min(end ?? long.MaxValue, checkpoint.TreeSize);
        }

        return new VerificationRange(start, end);
    }

    /// <summary>One verification's state: the checkpoints, the frontier so far, the next sequence expected.</summary>
    private sealed class Walk
    {
        private readonly CheckpointVerifier _keys;
        private readonly VerificationRange _range;
        private readonly List<(Checkpoint Checkpoint, MerkleFrontier Frontier)> _checkpoints = [];
        private Inconsistency? _first;
        private MerkleFrontier? _frontier;
        private long _start;
        private long _next;
        private int _nextCheckpoint;
        private long? _aheadOfGap;
        private long _entriesChecked;
        private long _verifiedSize;

        public Walk(CheckpointVerifier keys, IReadOnlyList<string> checkpoints, VerificationRange range)
        {
            _keys = keys;
            _range = range;
            CheckCheckpoints(checkpoints ?? []);
        }

        public bool Going => _first is null;

        public bool Add(string entry)
        {
            if (!Going) return false;
            if (_frontier is not null && _range.End is { } end && _next >= end && _aheadOfGap is null) return false;
            var utf8 = Encoding.UTF8.GetBytes(entry ?? "");
            if (!AuditEntryCodec.TryParse(utf8, out var parsed, out var error))
            {
                var where = _frontier is null ? "the first entry" : $"the entry after entry {_next - 1}";
                return Fail(InconsistencyKinds.Unparseable, _frontier is null ? null : _next, null, $"{where} cannot be read: {error}");
            }

            var sequence = parsed.Sequence;
            if (_frontier is null && !Begin(_range.Start ?? sequence)) return false;
            if (_aheadOfGap is { } seen)
            {
                return sequence >= _next && sequence < seen
                    ? Fail(InconsistencyKinds.OutOfOrder, sequence, null, $"entry {sequence} comes after entry {seen}")
                    : Fail(InconsistencyKinds.Gap, _next, null, $"entry {_next} is missing: {seen} follows {_next - 1}");
            }

            if (sequence < _next) return Fail(InconsistencyKinds.Duplicate, sequence, null, $"entry {sequence} appears again after entry {_next - 1}");
            if (sequence > _next)
            {
                // A gap, unless the missing entry comes right after (two entries swapped): the next one tells.
                _aheadOfGap = sequence;
                return true;
            }

            _frontier!.Append(MerkleTree.LeafHash(utf8));
            _next++;
            _entriesChecked++;
            return CheckSealed();
        }

        public VerificationReport Finish()
        {
            if (Going && (_frontier is not null || Begin(_range.Start ?? (_checkpoints.Count == 0 ? 0 : _checkpoints[^1].Checkpoint.TreeSize))))
            {
                if (_aheadOfGap is { } seen) Fail(InconsistencyKinds.Gap, _next, null, $"entry {_next} is missing: {seen} follows {_next - 1}");
                else if (_range.End is { } end && _next < end)
                    Fail(InconsistencyKinds.Truncated, _next, end, $"the entries end at {_next - 1}, before the range's end at {end - 1}");
                else if (_range.End is null && _nextCheckpoint < _checkpoints.Count)
                    Fail(InconsistencyKinds.Truncated, _next, _checkpoints[^1].Checkpoint.TreeSize, $"the entries end at {_next - 1}, but a checkpoint seals {_checkpoints[^1].Checkpoint.TreeSize} entries");
            }

            var unsealed = Going ? _next - Math.Max(_start, _verifiedSize) : 0;
            return new VerificationReport(_entriesChecked, _checkpoints.Count, unsealed, _verifiedSize, _first);
        }

        private void CheckCheckpoints(IReadOnlyList<string> texts)
        {
            var previousHash = Checkpoint.NoPrevious();
            long previousSize = 0;
            for (var i = 0; i < texts.Count; i++)
            {
                Checkpoint checkpoint;
                try
                {
                    checkpoint = Checkpoint.Parse(texts[i] ?? "null");
                }
                catch (FormatException e)
                {
                    Fail(InconsistencyKinds.Unparseable, null, null, $"checkpoint {i + 1} of {texts.Count} cannot be read: {e.Message}");
                    return;
                }

                var size = checkpoint.TreeSize;
                if (!_keys.Verify(checkpoint))
                {
                    Fail(InconsistencyKinds.Signature, null, size, $"the checkpoint at size {size} is not signed by the verifying key ({_keys.KeyId}; it names {checkpoint.KeyId})");
                    return;
                }

                if (!checkpoint.PreviousHash.SequenceEqual(previousHash))
                {
                    Fail(InconsistencyKinds.CheckpointChain, null, size, i == 0
                        ? $"the first checkpoint (size {size}) names a previous one: earlier checkpoints are missing"
                        : $"the checkpoint at size {size} does not name the one before it (size {previousSize}): a checkpoint was replaced or removed");
                    return;
                }

                if (size < previousSize)
                {
                    Fail(InconsistencyKinds.CheckpointChain, null, size, $"the checkpoint at size {size} follows a larger one (size {previousSize})");
                    return;
                }

                MerkleFrontier frontier;
                try
                {
                    frontier = MerkleFrontier.FromHex(size, checkpoint.Frontier);
                }
                catch (ArgumentException e)
                {
                    Fail(InconsistencyKinds.Frontier, null, size, $"the checkpoint at size {size} has a malformed frontier: {e.Message}");
                    return;
                }

                if (!frontier.Root().AsSpan().SequenceEqual(checkpoint.Root))
                {
                    Fail(InconsistencyKinds.Frontier, null, size, $"the frontier of the checkpoint at size {size} does not hash to its root");
                    return;
                }

                _checkpoints.Add((checkpoint, frontier));
                previousHash = checkpoint.Hash.ToArray();
                previousSize = size;
            }
        }

        /// <summary>Starts the entries at <paramref name="start"/>: from the empty tree, or from the frontier of a checkpoint of that size.</summary>
        private bool Begin(long start)
        {
            if (_frontier is not null) return true;
            _start = _next = start;
            var at = _checkpoints.FindLastIndex(c => c.Checkpoint.TreeSize == start);
            if (start == 0) _frontier = new MerkleFrontier();
            else if (at >= 0) _frontier = _checkpoints[at].Frontier.Clone();
            else
            {
                _frontier = new MerkleFrontier();
                var before = _checkpoints.Where(c => c.Checkpoint.TreeSize < start).Select(c => c.Checkpoint.TreeSize).DefaultIfEmpty(0).Max();
                return Fail(InconsistencyKinds.Gap, before, null, $"the entries start at {start}, but no checkpoint has that size: entries {before} to {start - 1} are missing");
            }

            _verifiedSize = start;
            _nextCheckpoint = _checkpoints.FindIndex(c => c.Checkpoint.TreeSize >= start);
            if (_nextCheckpoint < 0) _nextCheckpoint = _checkpoints.Count;
            return CheckSealed();
        }

        /// <summary>Compares the root with every checkpoint of the size the entries have reached.</summary>
        private bool CheckSealed()
        {
            if (_nextCheckpoint >= _checkpoints.Count || _checkpoints[_nextCheckpoint].Checkpoint.TreeSize != _frontier!.Size) return true;
            var root = _frontier.Root();
            for (; _nextCheckpoint < _checkpoints.Count && _checkpoints[_nextCheckpoint].Checkpoint.TreeSize == _frontier.Size; _nextCheckpoint++)
            {
                var size = _frontier.Size;
                if (!_checkpoints[_nextCheckpoint].Checkpoint.Root.SequenceEqual(root))
                    return Fail(InconsistencyKinds.RootMismatch, null, size, $"entries {_start} to {size - 1} do not hash to the root of the checkpoint at size {size}: an entry was edited, inserted, deleted or moved");
                _verifiedSize = size;
            }

            return true;
        }

        private bool Fail(string kind, long? sequence, long? checkpointSize, string message)
        {
            _first ??= new Inconsistency(kind, sequence, checkpointSize, message);
            return false;
        }
    }
}
