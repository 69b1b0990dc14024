using System.Security.Cryptography;
using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Audit;

namespace Gateway.Core.Tests.Audit;

/// <summary>
/// The tree against RFC 6962's definitions, computed here the slow, literal way (the recursive MTH, PATH and
/// SUBPROOF): every root, every inclusion proof and every consistency proof up to 40 leaves.
/// </summary>
public sealed class MerkleTreeTests
{
    private static List<byte[]> Leaves(int n) => [.. Enumerable.Range(0, n).Select(i => MerkleTree.LeafHash(BitConverter.GetBytes(i * 7919)))];

    private static byte[] Sha(params byte[][] parts) => SHA256.HashData(parts.SelectMany(p => p).ToArray());

    private static int K(int n) => Enumerable.Range(0, 31).Select(i => 1 << i).Last(p => p < n);

    /// <summary>MTH, RFC 6962 §2.1, word for word.</summary>
    private static byte[] Mth(List<byte[]> d) => d.Count switch
    {
        0 => Sha(),
        1 => d[0],
        _ => Sha([0x01], Mth(d[..K(d.Count)]), Mth(d[K(d.Count)..])),
    };

    /// <summary>PATH(m, D[n]), RFC 6962 §2.1.1.</summary>
    private static List<byte[]> PathOf(int m, List<byte[]> d)
    {
        if (d.Count == 1) return [];
        var k = K(d.Count);
        return m < k ? [.. PathOf(m, d[..k]), Mth(d[k..])] : [.. PathOf(m - k, d[k..]), Mth(d[..k])];
    }

    /// <summary>SUBPROOF(m, D[n], b), RFC 6962 §2.1.2.</summary>
    private static List<byte[]> SubProof(int m, List<byte[]> d, bool b)
    {
        if (m == d.Count) return b ? [] : [Mth(d)];
        var k = K(d.Count);
        return m <= k ? [.. SubProof(m, d[..k], b), Mth(d[k..])] : [.. SubProof(m - k, d[k..], false), Mth(d[..k])];
    }

    [Fact]
    public void The_empty_tree_hashes_to_sha256_of_nothing()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(MerkleTree.Root([])));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(new MerkleFrontier().Root()));
    }

    [Fact]
    public void Leaves_and_nodes_are_hashed_with_their_prefixes()
    {
        // RFC 6962's empty leaf: SHA-256(0x00)
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Convert.ToHexStringLower(MerkleTree.LeafHash([])));
        var a = MerkleTree.LeafHash([1]);
        var b = MerkleTree.LeafHash([2]);
        Assert.Equal(Sha([0x01], a, b), MerkleTree.NodeHash(a, b));
        Assert.Equal(MerkleTree.NodeHash(a, b), MerkleTree.Root([a, b]));
    }

    [Fact]
    public void Roots_match_the_recursive_definition_up_to_40_leaves()
    {
        for (var n = 0; n <= 40; n++) Assert.Equal(Mth(Leaves(n)), MerkleTree.Root(Leaves(n)));
    }

    [Fact]
    public void Every_inclusion_proof_up_to_40_leaves_is_the_rfc_path_and_verifies()
    {
        for (var n = 1; n <= 40; n++)
        {
            var leaves = Leaves(n);
            var root = Mth(leaves);
            for (var m = 0; m < n; m++)
            {
                var proof = MerkleTree.InclusionProof(leaves, m);
                Assert.Equal(PathOf(m, leaves), proof);
                Assert.True(MerkleTree.VerifyInclusion(m, n, leaves[m], proof, root), $"leaf {m} of {n}");
                Assert.False(MerkleTree.VerifyInclusion(m, n, MerkleTree.LeafHash([9, 9]), proof, root));
                Assert.False(MerkleTree.VerifyInclusion(m, n, leaves[m], proof, Mth(Leaves(n + 1))));
                if (n > 1) Assert.False(MerkleTree.VerifyInclusion((m + 1) % n, n, leaves[m], proof, root), $"leaf {m} of {n} as index {(m + 1) % n}");
            }
        }
    }

    [Fact]
    public void Every_consistency_proof_up_to_40_leaves_is_the_rfc_subproof_and_verifies()
    {
        var all = Leaves(40);
        for (var n = 0; n <= 40; n++)
        {
            var newRoot = Mth(all[..n]);
            for (var m = 0; m <= n; m++)
            {
                var oldRoot = Mth(all[..m]);
                var proof = MerkleTree.ConsistencyProof(all, m, n);
                Assert.Equal(m > 0 && m < n ? SubProof(m, all[..n], true) : [], proof);
                Assert.True(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, proof), $"{m} → {n}");
                if (m > 0)
                {
                    var otherOld = Mth([.. all[..(m - 1)], MerkleTree.LeafHash([9, 9])]);
                    Assert.False(MerkleTree.VerifyConsistency(m, n, otherOld, newRoot, proof), $"{m} → {n}, another old tree");
                    Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, Mth([.. all[..(n - 1)], MerkleTree.LeafHash([9, 9])]), proof), $"{m} → {n}, another new tree");
                }
            }
        }
    }

    [Fact]
    public void Damaged_proofs_are_refused_without_throwing()
    {
        var leaves = Leaves(13);
        var root = MerkleTree.Root(leaves);
        var proof = MerkleTree.InclusionProof(leaves, 5);
        Assert.False(MerkleTree.VerifyInclusion(5, 13, leaves[5], [.. proof, root], root));
        Assert.False(MerkleTree.VerifyInclusion(5, 13, leaves[5], proof.Take(proof.Count - 1).ToList(), root));
        Assert.False(MerkleTree.VerifyInclusion(5, 13, leaves[5], [[1, 2, 3]], root));
        Assert.False(MerkleTree.VerifyInclusion(13, 13, leaves[5], proof, root));
        Assert.False(MerkleTree.VerifyInclusion(-1, 13, leaves[5], proof, root));
        Assert.False(MerkleTree.VerifyInclusion(5, 13, leaves[5], null!, root));
        var consistency = MerkleTree.ConsistencyProof(leaves, 6, 13);
        var old = MerkleTree.Root(leaves[..6]);
        Assert.False(MerkleTree.VerifyConsistency(6, 13, old, root, []));
        Assert.False(MerkleTree.VerifyConsistency(6, 13, old, root, [.. consistency, root]));
        Assert.False(MerkleTree.VerifyConsistency(6, 13, old, root, [[1]]));
        Assert.False(MerkleTree.VerifyConsistency(13, 6, root, old, consistency));
        Assert.False(MerkleTree.VerifyConsistency(6, 6, old, root, []));
    }

    [Property(MaxTest = 200)]
    public bool Inclusion_proofs_verify_for_random_sizes_and_fail_for_a_wrong_leaf_or_root(PositiveInt size, NonNegativeInt index)
    {
        var n = size.Get % 300 + 1;
        var m = index.Get % n;
        var leaves = Leaves(n);
        var root = MerkleTree.Root(leaves);
        var proof = MerkleTree.InclusionProof(leaves, m);
        return MerkleTree.VerifyInclusion(m, n, leaves[m], proof, root)
            && !MerkleTree.VerifyInclusion(m, n, MerkleTree.LeafHash([1, 2]), proof, root)
            && !MerkleTree.VerifyInclusion(m, n, leaves[m], proof, MerkleTree.Root(leaves[..^1]));
    }

    [Property(MaxTest = 200)]
    public bool Consistency_proofs_verify_for_random_sizes_and_fail_for_a_wrong_root(PositiveInt newSize, PositiveInt oldSize)
    {
        var n = newSize.Get % 300 + 1;
        var m = oldSize.Get % n + 1;
        var leaves = Leaves(n);
        var oldRoot = MerkleTree.Root(leaves[..m]);
        var newRoot = MerkleTree.Root(leaves);
        var proof = MerkleTree.ConsistencyProof(leaves, m, n);
        var wrong = MerkleTree.LeafHash([7]);
        return MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, proof)
            && !MerkleTree.VerifyConsistency(m, n, wrong, newRoot, proof)
            && !MerkleTree.VerifyConsistency(m, n, oldRoot, wrong, proof);
    }
}
