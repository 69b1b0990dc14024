using System.Buffers;
using System.Numerics;
using System.Security.Cryptography;

namespace Gateway.Core.Audit;

/// <summary>
/// The Merkle tree of RFC 6962 §2.1 (SHA-256) over the log's entries, with the proofs of RFC 9162 §2.1.3–2.1.4: an
/// inclusion proof shows one entry is in a tree of a given root, a consistency proof shows a larger tree extends a
/// smaller one without changing it. Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so no inner
/// node can be passed off as a leaf.
/// </summary>
public static class MerkleTree
{
    public const int HashSize = SHA256.HashSizeInBytes;

    /// <summary>SHA-256(0x00 || data).</summary>
    public static byte[] LeafHash(ReadOnlySpan<byte> data)
    {
        var length = data.Length + 1;
        var rented = length > 1024 ? ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        buffer[0] = 0x00;
        data.CopyTo(buffer[1..]);
        var hash = SHA256.HashData(buffer);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return hash;
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * HashSize)];
        if (left.Length != HashSize || right.Length != HashSize) throw new ArgumentException("node hashes are 32 bytes");
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The root of the empty tree: SHA-256 of no bytes.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>MTH of the tree whose leaves hash to <paramref name="leafHashes"/>.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        return Root(leafHashes, 0, leafHashes.Count);
    }

    /// <summary>The audit path of leaf <paramref name="index"/> in the tree of <paramref name="leafHashes"/> (RFC 6962 §2.1.1), lowest level first.</summary>
    public static IReadOnlyList<byte[]> InclusionProof(IReadOnlyList<byte[]> leafHashes, int index)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, leafHashes.Count);
        var proof = new List<byte[]>();
        Path(leafHashes, index, 0, leafHashes.Count, proof);
        return proof;
    }

    /// <summary>
    /// Whether <paramref name="proof"/> shows the leaf hashing to <paramref name="leafHash"/> is leaf <paramref name="index"/>
    /// of the tree of size <paramref name="treeSize"/> and root <paramref name="root"/> (RFC 9162 §2.1.3.2). Never throws.
    /// </summary>
    public static bool VerifyInclusion(long index, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (proof is null || index < 0 || index >= treeSize || leafHash.Length != HashSize) return false;
        var fn = index;
        var sn = treeSize - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (sn == 0 || p is not { Length: HashSize }) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                r = NodeHash(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && root.SequenceEqual(r);
    }

    /// <summary>The consistency proof from the tree of the first <paramref name="oldSize"/> leaves to that of the first <paramref name="newSize"/> (RFC 6962 §2.1.2).</summary>
    public static IReadOnlyList<byte[]> ConsistencyProof(IReadOnlyList<byte[]> leafHashes, int oldSize, int newSize)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newSize, leafHashes.Count);
        var proof = new List<byte[]>();
        if (oldSize > 0 && oldSize < newSize) SubProof(leafHashes, oldSize, 0, newSize, true, proof);
        return proof;
    }

    /// <summary>
    /// Whether <paramref name="proof"/> shows the tree of size <paramref name="newSize"/> and root <paramref name="newRoot"/>
    /// extends the one of size <paramref name="oldSize"/> and root <paramref name="oldRoot"/> (RFC 9162 §2.1.4.2). Equal
    /// sizes need an empty proof and equal roots; every tree extends the empty one, with an empty proof. Never throws.
    /// </summary>
    public static bool VerifyConsistency(long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        if (proof is null || oldSize < 0 || newSize < oldSize) return false;
        if (oldSize == newSize) return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        if (oldSize == 0) return proof.Count == 0;
        if (proof.Count == 0 || proof.Any(p => p is not { Length: HashSize })) return false;
        IReadOnlyList<byte[]> path = BitOperations.IsPow2(oldSize) ? [oldRoot.ToArray(), .. proof] : proof;
        var fn = oldSize - 1;
        var sn = newSize - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        var fr = path[0];
        var sr = path[0];
        for (var i = 1; i < path.Count; i++)
        {
            if (sn == 0) return false;
            var c = path[i];
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                sr = NodeHash(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && oldRoot.SequenceEqual(fr) && newRoot.SequenceEqual(sr);
    }

    /// <summary>The largest power of two smaller than <paramref name="n"/> (n ≥ 2): where RFC 6962 splits a tree of n leaves.</summary>
    private static int Split(int n) => 1 << (BitOperations.Log2((uint)n - 1));

    /// <summary>MTH of leaves [start, start + count), level by level: an odd node at the end of a level moves up unchanged, which is the same tree as the RFC's recursive split.</summary>
    private static byte[] Root(IReadOnlyList<byte[]> leaves, int start, int count)
    {
        if (count == 0) return EmptyRoot();
        var level = new byte[count][];
        for (var i = 0; i < count; i++) level[i] = leaves[start + i];
        while (count > 1)
        {
            var next = 0;
            for (var i = 0; i + 1 < count; i += 2) level[next++] = NodeHash(level[i], level[i + 1]);
            if ((count & 1) == 1) level[next++] = level[count - 1];
            count = next;
        }

        return level[0];
    }

    private static void Path(IReadOnlyList<byte[]> leaves, int m, int start, int n, List<byte[]> proof)
    {
        if (n == 1) return;
        var k = Split(n);
        if (m < k)
        {
            Path(leaves, m, start, k, proof);
            proof.Add(Root(leaves, start + k, n - k));
        }
        else
        {
            Path(leaves, m - k, start + k, n - k, proof);
            proof.Add(Root(leaves, start, k));
        }
    }

    private static void SubProof(IReadOnlyList<byte[]> leaves, int m, int start, int n, bool complete, List<byte[]> proof)
    {
        if (m == n)
        {
            if (!complete) proof.Add(Root(leaves, start, n));
            return;
        }

        var k = Split(n);
        if (m <= k)
        {
            SubProof(leaves, m, start, k, complete, proof);
            proof.Add(Root(leaves, start + k, n - k));
        }
        else
        {
            SubProof(leaves, m - k, start + k, n - k, false, proof);
            proof.Add(Root(leaves, start, k));
        }
    }
}
