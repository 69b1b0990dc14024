using System.Text;

namespace Gateway.Core.Audit;

/// <summary>
/// Makes the next checkpoint: the previous one's frontier extended by the entries appended since, signed and chained
/// to it. Needs only the new entries, never the older ones, so sealing costs the same on a log of any length.
/// </summary>
public static class CheckpointSealer
{
    /// <param name="previous">The latest checkpoint, or null when the log has none yet.</param>
    /// <param name="newEntries">The stored texts of the entries after it, in sequence order (none seals the same tree again, at a new time).</param>
    /// <exception cref="ArgumentException">An entry is not an audit entry, or its sequence is not the next one: the log is not sealed over a gap.</exception>
    public static async ValueTask<Checkpoint> SealAsync(Checkpoint? previous, IEnumerable<string> newEntries, DateTimeOffset at, ICheckpointSigner signer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newEntries);
        ArgumentNullException.ThrowIfNull(signer);
        var frontier = previous is null ? new MerkleFrontier() : MerkleFrontier.FromHex(previous.TreeSize, previous.Frontier);
        foreach (var text in newEntries)
        {
            var utf8 = Encoding.UTF8.GetBytes(text ?? throw new ArgumentException("an entry is null", nameof(newEntries)));
            if (!AuditEntryCodec.TryParse(utf8, out var entry, out var error)) throw new ArgumentException($"entry {frontier.Size}: {error}", nameof(newEntries));
            if (entry.Sequence != frontier.Size) throw new ArgumentException($"entry {entry.Sequence} where {frontier.Size} comes next", nameof(newEntries));
            frontier.Append(MerkleTree.LeafHash(utf8));
        }

        var previousHash = previous is null ? Checkpoint.NoPrevious() : previous.Hash.ToArray();
        var root = frontier.Root();
        var frontierHex = frontier.ToHex();
        var unsigned = new Checkpoint(frontier.Size, root, at, previousHash, frontierHex, signer.KeyId, []);
        var signature = await signer.SignAsync(unsigned.SignedPayload(), cancellationToken).ConfigureAwait(false);
        return new Checkpoint(frontier.Size, root, at, previousHash, frontierHex, signer.KeyId, signature);
    }
}
