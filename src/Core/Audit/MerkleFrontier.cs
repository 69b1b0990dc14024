using System.Numerics;

namespace Gateway.Core.Audit;

/// <summary>
/// The right edge of a Merkle tree (a compact range over leaves [0, n)): the roots of the perfect subtrees that a
/// tree of size n splits into, largest (leftmost) first, one per bit set in n, so at most log2(n)+1 hashes. It is all
/// it takes to append leaves and compute the root, without the leaves themselves. A checkpoint carries the frontier at
/// its size, so the log can still be extended and verified after retention has deleted the entries before it.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<byte[]> _hashes;

    public MerkleFrontier()
        : this(0, [])
    {
    }

    private MerkleFrontier(long size, List<byte[]> hashes)
    {
        Size = size;
        _hashes = hashes;
    }

    /// <summary>How many leaves the tree has.</summary>
    public long Size { get; private set; }

    /// <summary>The subtree roots, largest first.</summary>
    public IReadOnlyList<byte[]> Hashes => _hashes;

    /// <summary>The frontier of a tree of <paramref name="size"/> leaves from its subtree roots, largest first.</summary>
    /// <exception cref="ArgumentException">Not one 32-byte hash per bit set in <paramref name="size"/>.</exception>
    public static MerkleFrontier Restore(long size, IEnumerable<byte[]> hashes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentNullException.ThrowIfNull(hashes);
        var list = hashes.Select(h => h is { Length: MerkleTree.HashSize } ? (byte[])h.Clone() : throw new ArgumentException("frontier hashes are 32 bytes", nameof(hashes))).ToList();
        if (list.Count != BitOperations.PopCount((ulong)size)) throw new ArgumentException($"a tree of {size} leaves has {BitOperations.PopCount((ulong)size)} frontier hashes, not {list.Count}", nameof(hashes));
        return new MerkleFrontier(size, list);
    }

    /// <summary><see cref="Restore(long, IEnumerable{byte[]})"/> from lowercase or uppercase hex, as <see cref="ToHex"/> writes it.</summary>
    /// <exception cref="ArgumentException">A hash is not 64 hex digits, or the count does not fit <paramref name="size"/>.</exception>
    public static MerkleFrontier FromHex(long size, IEnumerable<string> hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        return Restore(size, hex.Select(h => Hex.Parse32(h) ?? throw new ArgumentException("frontier hashes are 64 hex digits", nameof(hex))));
    }

    /// <summary>The subtree roots as lowercase hex, largest first: the form a checkpoint carries.</summary>
    public IReadOnlyList<string> ToHex() => [.. _hashes.Select(Convert.ToHexStringLower)];

    public void Append(byte[] leafHash)
    {
        ArgumentNullException.ThrowIfNull(leafHash);
        if (leafHash.Length != MerkleTree.HashSize) throw new ArgumentException("leaf hashes are 32 bytes", nameof(leafHash));
        var hash = leafHash;
        // Each trailing 1 bit of the size is a subtree as large as the one being carried: merge them, as in a binary increment.
        for (var s = Size; (s & 1) == 1; s >>= 1)
        {
            hash = MerkleTree.NodeHash(_hashes[^1], hash);
            _hashes.RemoveAt(_hashes.Count - 1);
        }

        _hashes.Add(hash);
        Size++;
    }

    /// <summary>The tree's root (RFC 6962 MTH): the subtree roots folded from the right.</summary>
    public byte[] Root()
    {
        if (_hashes.Count == 0) return MerkleTree.EmptyRoot();
        var root = _hashes[^1];
        for (var i = _hashes.Count - 2; i >= 0; i--) root = MerkleTree.NodeHash(_hashes[i], root);
        return root;
    }

    public MerkleFrontier Clone() => new(Size, [.. _hashes]);
}

/// <summary>The 32-byte hashes of the audit log as text.</summary>
internal static class Hex
{
    /// <summary>The 32 bytes that 64 hex digits stand for, or null when the text is anything else.</summary>
    public static byte[]? Parse32(string? text)
    {
        if (text is not { Length: 2 * MerkleTree.HashSize }) return null;
        var bytes = new byte[MerkleTree.HashSize];
        return Convert.FromHexString(text, bytes, out _, out _) == System.Buffers.OperationStatus.Done ? bytes : null;
    }
}
