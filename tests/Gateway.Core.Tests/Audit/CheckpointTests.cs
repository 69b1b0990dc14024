using System.Security.Cryptography;
using Gateway.Core.Audit;
using static Gateway.Core.Tests.Audit.AuditTestLog;

namespace Gateway.Core.Tests.Audit;

/// <summary>Checkpoints: sealed from the previous one and the new entries only, signed, chained, read back exactly.</summary>
public sealed class CheckpointTests
{
    [Fact]
    public void A_checkpoint_seals_the_root_and_frontier_of_all_entries_so_far()
    {
        var entries = Enumerable.Range(0, 25).Select(i => Entry(i, i)).ToList();
        var checkpoints = Seal(entries, [10, 25], Key);
        var leaves = entries.Select(AuditEntryCodec.LeafHash).ToList();
        Assert.Equal(MerkleTree.Root(leaves[..10]), checkpoints[0].Root.ToArray());
        Assert.Equal(MerkleTree.Root(leaves), checkpoints[1].Root.ToArray());
        Assert.Equal(25, checkpoints[1].TreeSize);
        Assert.Equal(3, checkpoints[1].Frontier.Count);
        Assert.Equal(new byte[32], checkpoints[0].PreviousHash.ToArray());
        Assert.Equal(checkpoints[0].Hash.ToArray(), checkpoints[1].PreviousHash.ToArray());
        Assert.Equal(Key.KeyId, checkpoints[1].KeyId);
        Assert.True(CheckpointVerifier.FromPem(Key.PublicKeyPem).Verify(checkpoints[1]));
        Assert.False(CheckpointVerifier.FromPem(OtherKey.PublicKeyPem).Verify(checkpoints[1]));
    }

    [Fact]
    public void The_canonical_form_is_read_back_exactly_and_hashed_with_its_signature()
    {
        var checkpoint = Seal([Entry(0, 0), Entry(1, 1), Entry(2, 2)], [3], Key)[0];
        var text = checkpoint.Serialize();
        Assert.StartsWith($$"""{"format":"gateway-audit-checkpoint/v1","treeSize":3,"root":"{{checkpoint.RootHex}}","at":"2026-03-01T09:03:00.0000000Z","previousHash":"{{new string('0', 64)}}","frontier":[""" + "\"", text, StringComparison.Ordinal);
        Assert.EndsWith($$""","keyId":"{{Key.KeyId}}","signature":"{{Convert.ToHexStringLower(checkpoint.Signature)}}"}""", text, StringComparison.Ordinal);
        Assert.Equal(text[..text.IndexOf(",\"signature\"", StringComparison.Ordinal)] + "}", System.Text.Encoding.UTF8.GetString(checkpoint.SignedPayload()));
        Assert.Equal(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)), checkpoint.Hash.ToArray());
        var back = Checkpoint.Parse(text);
        Assert.Equal(text, back.Serialize());
        // the same JSON laid out otherwise is the same checkpoint
        var indented = System.Text.Json.Nodes.JsonNode.Parse(text)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Assert.Equal(text, Checkpoint.Parse(indented).Serialize());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("""{"format":"other/v1","treeSize":0,"root":"","at":"","previousHash":"","frontier":[],"keyId":"k","signature":"00"}""")]
    public void Anything_else_is_refused(string text) => Assert.Throws<FormatException>(() => Checkpoint.Parse(text));

    [Fact]
    public void A_damaged_field_is_refused()
    {
        var text = Seal([Entry(0, 0)], [1], Key)[0].Serialize();
        Assert.Throws<FormatException>(() => Checkpoint.Parse(text.Replace("\"treeSize\":1", "\"treeSize\":\"1\"", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => Checkpoint.Parse(text.Replace("\"keyId\":\"", "\"keyId\":\"\\u0001", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => Checkpoint.Parse(text.Replace("\"frontier\":[\"", "\"frontier\":[\"zz", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => Checkpoint.Parse(text.Replace("Z\",", "+01:00\",", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_sealer_refuses_entries_that_do_not_continue_the_log()
    {
        var first = Seal([Entry(0, 0), Entry(1, 1)], [2], Key)[0];
        Assert.Throws<ArgumentException>(() => SealNext(first, [Entry(3, 3)], T0, Key));
        Assert.Throws<ArgumentException>(() => SealNext(first, [Entry(1, 1)], T0, Key));
        Assert.Throws<ArgumentException>(() => SealNext(first, ["{"], T0, Key));
        Assert.Equal(3, SealNext(first, [Entry(2, 2)], T0, Key).TreeSize);
        // nothing new: the same tree sealed again, chained
        var again = SealNext(first, [], T0.AddHours(1), Key);
        Assert.Equal(first.RootHex, again.RootHex);
        Assert.Equal(first.Hash.ToArray(), again.PreviousHash.ToArray());
    }

    [Fact]
    public void The_file_signer_creates_its_key_once_and_its_public_key_verifies()
    {
        var directory = Directory.CreateTempSubdirectory("audit-key-");
        try
        {
            var path = Path.Combine(directory.FullName, "audit-signing.pem");
            Checkpoint checkpoint;
            string publicPem, keyId;
            using (var signer = EcdsaFileSigner.LoadOrCreate(path))
            {
                checkpoint = SealNext(null, [Entry(0, 0)], T0, signer);
                publicPem = signer.PublicKeyPem;
                keyId = signer.KeyId;
            }

            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            using (var again = EcdsaFileSigner.LoadOrCreate(path)) Assert.Equal(keyId, again.KeyId);
            Assert.StartsWith("ecdsa-p256:", keyId, StringComparison.Ordinal);
            using var fromPem = CheckpointVerifier.FromPem(publicPem);
            Assert.True(fromPem.Verify(checkpoint));
            Assert.Equal(keyId, fromPem.KeyId);
            using var fromDer = CheckpointVerifier.FromPublicKey(Convert.FromBase64String(string.Concat(publicPem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))));
            Assert.True(fromDer.Verify(checkpoint));
            Assert.Equal(64, checkpoint.Signature.Length);
        }
        finally
        {
            directory.Delete(true);
        }
    }

    [Fact]
    public void Only_p256_public_keys_are_taken()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var rsa = RSA.Create(2048);
        Assert.Throws<CryptographicException>(() => CheckpointVerifier.FromPem(p384.ExportSubjectPublicKeyInfoPem()));
        Assert.ThrowsAny<CryptographicException>(() => CheckpointVerifier.FromPem(rsa.ExportSubjectPublicKeyInfoPem()));
        Assert.ThrowsAny<CryptographicException>(() => CheckpointVerifier.FromPublicKey([1, 2, 3]));
    }
}
