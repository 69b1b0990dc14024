using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Core.Audit;

/// <summary>What a writer invocation did.</summary>
public sealed record AuditWriteResult(int Appended, int Duplicates, long Size, Checkpoint? Sealed);

/// <summary>
/// The audit log's rules over its store: append (each event once, numbered without gaps), seal checkpoints (every
/// <see cref="AuditOptions.SealEveryEntries"/> entries and on the sealing timer), verify a range against the signed
/// checkpoints, prove an entry's inclusion or two checkpoints' consistency, search, export, and delete only whole
/// sealed segments.
/// </summary>
public sealed class AuditLog(IAuditLogStore store, ICheckpointSigner signer, CheckpointVerifier verifier, AuditOptions options, TimeProvider time)
{
    /// <summary>The public key checkpoints are verified with (give it to the offline verifier).</summary>
    public CheckpointVerifier Verifier => verifier;

    public async Task<AuditWriteResult> AppendAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var result = await store.AppendAsync(events, static (sequence, e) => AuditEntryCodec.Serialize(new AuditEntry(sequence, e)), cancellationToken).ConfigureAwait(false);
        Checkpoint? sealedNow = null;
        if (result.Appended.Count > 0)
        {
            var (last, _) = await store.ReadLastCheckpointAsync(cancellationToken).ConfigureAwait(false);
            var sealedSize = last is null ? 0 : Checkpoint.Parse(last).TreeSize;
            if (result.Size - sealedSize >= options.SealEveryEntries) sealedNow = await SealAsync(cancellationToken).ConfigureAwait(false);
        }

        return new AuditWriteResult(result.Appended.Count, result.Duplicates, result.Size, sealedNow);
    }

    /// <summary>Seals what is appended since the latest checkpoint; null when nothing is new or another sealer got there first.</summary>
    public async Task<Checkpoint?> SealAsync(CancellationToken cancellationToken)
    {
        var (lastText, version) = await store.ReadLastCheckpointAsync(cancellationToken).ConfigureAwait(false);
        var last = lastText is null ? null : Checkpoint.Parse(lastText);
        var size = await store.SizeAsync(cancellationToken).ConfigureAwait(false);
        var from = last?.TreeSize ?? 0;
        if (size <= from) return null;
        var texts = new List<string>((int)Math.Min(size - from, 1_000_000));
        await foreach (var entry in store.ReadAsync(from, size, cancellationToken).ConfigureAwait(false)) texts.Add(entry.Text);
        var next = await CheckpointSealer.SealAsync(last, texts, time.GetUtcNow(), signer, cancellationToken).ConfigureAwait(false);
        return await store.TryAddCheckpointAsync(next.TreeSize, next.Serialize(), version, cancellationToken).ConfigureAwait(false) ? next : null;
    }

    /// <summary>Verifies sequences <paramref name="from"/> to <paramref name="to"/> (inclusive; the whole log when null). Never throws on damage: reports it.</summary>
    public async Task<VerificationReport> VerifyAsync(long? from, long? to, CancellationToken cancellationToken)
    {
        var checkpoints = await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false);
        var range = from is null && to is null ? default : AuditVerifier.RangeFor(checkpoints, from ?? 0, to ?? long.MaxValue - 1);
        var report = await new AuditVerifier(verifier).VerifyAsync(checkpoints, Texts(store.ReadAsync(range.Start ?? 0, range.End ?? long.MaxValue, cancellationToken)), range, cancellationToken).ConfigureAwait(false);
        return report.Ok ? await AgainstCopyAsync(report, checkpoints, cancellationToken).ConfigureAwait(false) : report;
    }

    /// <summary>
    /// The tables against the latest write-once copy: a log cut back together with its newest checkpoints verifies on
    /// its own, but the copy, which nobody can delete, still names the size it had; a replaced checkpoint differs from its copy.
    /// </summary>
    private async Task<VerificationReport> AgainstCopyAsync(VerificationReport report, IReadOnlyList<string> checkpoints, CancellationToken cancellationToken)
    {
        if (await store.ReadLatestCopyAsync(cancellationToken).ConfigureAwait(false) is not { } copy) return report;
        var stored = checkpoints.Select(t => (Text: t, Checkpoint: TryParse(t))).LastOrDefault(c => c.Checkpoint?.TreeSize == copy.TreeSize);
        if (stored.Text is null)
        {
            var latest = checkpoints.Count == 0 ? 0 : TryParse(checkpoints[^1])?.TreeSize ?? 0;
            return report with
            {
                First = new Inconsistency(InconsistencyKinds.Truncated, latest, copy.TreeSize,
                    $"the write-once copy seals {copy.TreeSize} entries but the log's checkpoints end at {latest}: entries and checkpoints were removed from the end"),
            };
        }

        return TryParse(copy.Text) is { } copied && copied.Hash.SequenceEqual(stored.Checkpoint!.Hash)
            ? report
            : report with
            {
                First = new Inconsistency(InconsistencyKinds.CheckpointCopy, null, copy.TreeSize,
                    $"the checkpoint of size {copy.TreeSize} in the log differs from its write-once copy: it was replaced"),
            };
    }

    private static Checkpoint? TryParse(string text)
    {
        try
        {
            return Checkpoint.Parse(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static async IAsyncEnumerable<string> Texts(IAsyncEnumerable<StoredAuditEntry> entries)
    {
        await foreach (var e in entries.ConfigureAwait(false)) yield return e.Text;
    }

    /// <summary>
    /// The proof that entry <paramref name="sequence"/> is in the tree of the checkpoint of size <paramref name="treeSize"/>
    /// (the latest when null): the entry, the checkpoint and the audit path (RFC 9162 §2.1.3). Null when there is no
    /// such checkpoint or entry, or the entries it needs were deleted by retention.
    /// </summary>
    public async Task<JsonObject?> InclusionProofAsync(long sequence, long? treeSize, CancellationToken cancellationToken)
    {
        var checkpoint = await CheckpointAsync(treeSize, cancellationToken).ConfigureAwait(false);
        if (checkpoint is null || sequence < 0 || sequence >= checkpoint.TreeSize) return null;
        var (leaves, entry) = await LeavesAsync(checkpoint.TreeSize, sequence, cancellationToken).ConfigureAwait(false);
        if (leaves is null || entry is null) return null;
        var proof = MerkleTree.InclusionProof(leaves, (int)sequence);
        return new JsonObject
        {
            ["sequence"] = sequence,
            ["tree_size"] = checkpoint.TreeSize,
            ["leaf_hash"] = Convert.ToHexStringLower(leaves[(int)sequence]),
            ["entry"] = entry,
            ["checkpoint"] = JsonNode.Parse(checkpoint.Serialize()),
            ["audit_path"] = new JsonArray([.. proof.Select(h => (JsonNode)Convert.ToHexStringLower(h))]),
        };
    }

    /// <summary>The proof that the checkpoint of size <paramref name="first"/> is a prefix of the one of size <paramref name="second"/> (RFC 9162 §2.1.4); null when either is unknown or pruned.</summary>
    public async Task<JsonObject?> ConsistencyProofAsync(long first, long second, CancellationToken cancellationToken)
    {
        if (first <= 0 || second < first) return null;
        var older = await CheckpointAsync(first, cancellationToken).ConfigureAwait(false);
        var newer = await CheckpointAsync(second, cancellationToken).ConfigureAwait(false);
        if (older is null || newer is null) return null;
        var (leaves, _) = await LeavesAsync(second, null, cancellationToken).ConfigureAwait(false);
        if (leaves is null) return null;
        var proof = MerkleTree.ConsistencyProof(leaves, (int)first, (int)second);
        return new JsonObject
        {
            ["first"] = JsonNode.Parse(older.Serialize()),
            ["second"] = JsonNode.Parse(newer.Serialize()),
            ["proof"] = new JsonArray([.. proof.Select(h => (JsonNode)Convert.ToHexStringLower(h))]),
        };
    }

    private async Task<Checkpoint?> CheckpointAsync(long? treeSize, CancellationToken cancellationToken)
    {
        if (treeSize is null)
        {
            var (last, _) = await store.ReadLastCheckpointAsync(cancellationToken).ConfigureAwait(false);
            return last is null ? null : Checkpoint.Parse(last);
        }

        foreach (var text in await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false))
        {
            var checkpoint = Checkpoint.Parse(text);
            if (checkpoint.TreeSize == treeSize) return checkpoint;
        }

        return null;
    }

    /// <summary>The leaf hashes of the first <paramref name="size"/> entries (null when some were deleted), and entry <paramref name="wanted"/> as JSON.</summary>
    private async Task<(List<byte[]>? Leaves, JsonNode? Entry)> LeavesAsync(long size, long? wanted, CancellationToken cancellationToken)
    {
        var leaves = new List<byte[]>((int)Math.Min(size, 1_000_000));
        JsonNode? entry = null;
        await foreach (var e in store.ReadAsync(0, size, cancellationToken).ConfigureAwait(false))
        {
            if (e.Sequence != leaves.Count) return (null, null);
            leaves.Add(AuditEntryCodec.LeafHash(e.Text));
            if (e.Sequence == wanted) entry = JsonNode.Parse(e.Text);
        }

        return leaves.Count == size ? (leaves, entry) : (null, null);
    }

    /// <summary>The entries a query selects, parsed.</summary>
    public async IAsyncEnumerable<AuditEntry> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in store.QueryAsync(query, cancellationToken).ConfigureAwait(false)) yield return AuditEntryCodec.Parse(e.Text);
    }

    /// <summary>Writes the whole log (entries and checkpoints, in order) in the offline verifier's format, streamed.</summary>
    public async Task ExportAsync(Stream output, CancellationToken cancellationToken)
    {
        var checkpoints = await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false);
        await AuditExport.WriteAsync(output, Texts(store.ReadAsync(0, long.MaxValue, cancellationToken)), checkpoints, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Retention: deletes the entries of sealed segments whose checkpoint is older than <see cref="AuditOptions.RetentionDays"/>
    /// — whole segments only, up to a checkpoint's size, so what remains verifies from that checkpoint's frontier. Checkpoints are kept.
    /// </summary>
    public async Task<long> ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        if (options.RetentionDays == 0) return 0;
        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(options.RetentionDays);
        long before = 0;
        foreach (var text in await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false))
        {
            var checkpoint = Checkpoint.Parse(text);
            if (checkpoint.At < cutoff) before = Math.Max(before, checkpoint.TreeSize);
        }

        return before == 0 ? 0 : await store.DeleteBeforeAsync(before, cancellationToken).ConfigureAwait(false);
    }
}
