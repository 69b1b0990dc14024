using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Audit;

namespace Gateway.Core.Tests.Audit;

/// <summary>The frontier computes the same roots as the whole tree, from any restored point on, with log2(n)+1 hashes at most.</summary>
public sealed class MerkleFrontierTests
{
    private static List<byte[]> Leaves(int n) => [.. Enumerable.Range(0, n).Select(i => MerkleTree.LeafHash(BitConverter.GetBytes(i)))];

    [Property(MaxTest = 300)]
    public bool Appending_n_leaves_gives_the_root_of_the_whole_tree(NonNegativeInt size)
    {
        var n = size.Get % 2000;
        var leaves = Leaves(n);
        var frontier = new MerkleFrontier();
        foreach (var leaf in leaves) frontier.Append(leaf);
        return frontier.Size == n
            && frontier.Root().AsSpan().SequenceEqual(MerkleTree.Root(leaves))
            && frontier.Hashes.Count == System.Numerics.BitOperations.PopCount((uint)n);
    }

    [Property(MaxTest = 300)]
    public bool A_frontier_restored_at_k_and_extended_to_n_gives_the_root_of_the_whole_tree(NonNegativeInt size, NonNegativeInt at)
    {
        var n = size.Get % 1500;
        var k = at.Get % (n + 1);
        var leaves = Leaves(n);
        var first = new MerkleFrontier();
        foreach (var leaf in leaves[..k]) first.Append(leaf);
        var restored = MerkleFrontier.FromHex(k, first.ToHex());
        foreach (var leaf in leaves[k..]) restored.Append(leaf);
        return restored.Size == n && restored.Root().AsSpan().SequenceEqual(MerkleTree.Root(leaves));
    }

    [Fact]
    public void A_frontier_holds_one_hash_per_bit_of_its_size()
    {
        var frontier = new MerkleFrontier();
        foreach (var leaf in Leaves(13)) frontier.Append(leaf);
        var leaves = Leaves(13);
        // 13 = 8 + 4 + 1: the roots of leaves 0–7, 8–11 and 12, largest first
        Assert.Equal([MerkleTree.Root(leaves[..8]), MerkleTree.Root(leaves[8..12]), leaves[12]], frontier.Hashes);
    }

    [Fact]
    public void A_frontier_of_the_wrong_shape_is_refused()
    {
        var hash = Convert.ToHexStringLower(MerkleTree.LeafHash([1]));
        Assert.Throws<ArgumentException>(() => MerkleFrontier.FromHex(3, [hash]));
        Assert.Throws<ArgumentException>(() => MerkleFrontier.FromHex(1, ["abc"]));
        Assert.Throws<ArgumentException>(() => MerkleFrontier.FromHex(1, [new string('g', 64)]));
        Assert.Throws<ArgumentException>(() => new MerkleFrontier().Append([1, 2]));
        Assert.Equal(1, MerkleFrontier.FromHex(1, [hash.ToUpperInvariant()]).Size);
    }
}
