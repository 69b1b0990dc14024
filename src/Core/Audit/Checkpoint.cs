using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Core.Audit;

/// <summary>
/// A signed tree head: the log's size and Merkle root at a moment, signed, and chained to the checkpoint before it.
/// The root seals every entry below <see cref="TreeSize"/> (an edit, insertion, deletion or reordering changes it);
/// the chain (<see cref="PreviousHash"/>) makes replacing or removing a checkpoint visible at the next one; the
/// frontier lets verification start here once retention has deleted the entries before it.
/// </summary>
/// <remarks>
/// <para>The canonical form, one line of JSON, properties in this order and nothing else:</para>
/// <code>{"format":"gateway-audit-checkpoint/v1","treeSize":N,"root":"&lt;hex&gt;","at":"2025-12-01T10:00:00.0000000Z","previousHash":"&lt;hex&gt;","frontier":["&lt;hex&gt;",…],"keyId":"…","signature":"&lt;hex&gt;"}</code>
/// <para>The signed payload (<see cref="SignedPayload"/>) is the UTF-8 of the same text without <c>,"signature":…</c>;
/// <see cref="Hash"/> is SHA-256 of the UTF-8 of the whole canonical form, signature included, so a re-signed
/// checkpoint is a different link. Hex is lowercase; <see cref="KeyId"/> is printable ASCII without quotes or
/// backslashes, so the text never depends on a JSON writer's escaping and hashes the same on every runtime. The
/// first checkpoint's <see cref="PreviousHash"/> is 32 zero bytes.</para>
/// </remarks>
public sealed class Checkpoint
{
    public const string Format = "gateway-audit-checkpoint/v1";

    private const string AtFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'";

    private readonly byte[] _root;
    private readonly byte[] _previousHash;
    private readonly byte[] _signature;
    private readonly string _payload;
    private readonly byte[] _hash;

    /// <exception cref="ArgumentException">A hash that is not 32 bytes, a frontier hash that is not 64 hex digits, a key id outside printable ASCII.</exception>
    public Checkpoint(long treeSize, ReadOnlySpan<byte> root, DateTimeOffset at, ReadOnlySpan<byte> previousHash, IEnumerable<string> frontier, string keyId, ReadOnlySpan<byte> signature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        ArgumentNullException.ThrowIfNull(frontier);
        ArgumentNullException.ThrowIfNull(keyId);
        if (root.Length != MerkleTree.HashSize || previousHash.Length != MerkleTree.HashSize) throw new ArgumentException("root and previous hash are 32 bytes");
        if (keyId.Length == 0 || keyId.Any(c => c is < ' ' or > '~' or '"' or '\\')) throw new ArgumentException("a key id is printable ASCII without quotes or backslashes", nameof(keyId));
        TreeSize = treeSize;
        _root = root.ToArray();
        At = at.ToUniversalTime();
        _previousHash = previousHash.ToArray();
        Frontier = [.. frontier.Select(h => Hex.Parse32(h) is { } bytes ? Convert.ToHexStringLower(bytes) : throw new ArgumentException("frontier hashes are 64 hex digits", nameof(frontier)))];
        KeyId = keyId;
        _signature = signature.ToArray();
        _payload = new StringBuilder(256)
            .Append("{\"format\":\"").Append(Format)
            .Append("\",\"treeSize\":").Append(treeSize.ToString(CultureInfo.InvariantCulture))
            .Append(",\"root\":\"").Append(RootHex)
            .Append("\",\"at\":\"").Append(At.ToString(AtFormat, CultureInfo.InvariantCulture))
            .Append("\",\"previousHash\":\"").Append(Convert.ToHexStringLower(_previousHash))
            .Append("\",\"frontier\":[").AppendJoin(',', Frontier.Select(h => "\"" + h + "\""))
            .Append("],\"keyId\":\"").Append(keyId).Append('"')
            .ToString();
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(Serialize()));
    }

    /// <summary>How many entries the checkpoint seals: sequences 0 to TreeSize−1.</summary>
    public long TreeSize { get; }

    /// <summary>The Merkle root (RFC 6962 MTH) of the entries' leaf hashes.</summary>
    public ReadOnlySpan<byte> Root => _root;

    public string RootHex => Convert.ToHexStringLower(_root);

    /// <summary>When it was sealed (UTC).</summary>
    public DateTimeOffset At { get; }

    /// <summary><see cref="Hash"/> of the checkpoint before this one; zeros for the first.</summary>
    public ReadOnlySpan<byte> PreviousHash => _previousHash;

    /// <summary>The tree's <see cref="MerkleFrontier"/> at <see cref="TreeSize"/>, as lowercase hex, largest subtree first.</summary>
    public IReadOnlyList<string> Frontier { get; }

    /// <summary>Which key signed it (<see cref="ICheckpointSigner.KeyId"/>).</summary>
    public string KeyId { get; }

    /// <summary>ECDSA P-256 over SHA-256 of <see cref="SignedPayload"/>, IEEE P1363 format (r || s, 64 bytes).</summary>
    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>SHA-256 of the canonical form (<see cref="Serialize"/>): what the next checkpoint's <see cref="PreviousHash"/> must be.</summary>
    public ReadOnlySpan<byte> Hash => _hash;

    /// <summary>The bytes the signature is over.</summary>
    public byte[] SignedPayload() => Encoding.UTF8.GetBytes(_payload + "}");

    /// <summary>The canonical form, signature included: what the log stores.</summary>
    public string Serialize() => _payload + ",\"signature\":\"" + Convert.ToHexStringLower(_signature) + "\"}";

    /// <summary>The hash a first checkpoint names as its previous one.</summary>
    public static byte[] NoPrevious() => new byte[MerkleTree.HashSize];

    /// <summary>Reads a checkpoint's text (the canonical form, or the same JSON formatted otherwise).</summary>
    /// <exception cref="FormatException">Not a checkpoint of this format.</exception>
    public static Checkpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("a checkpoint is a JSON object");
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            string[] expected = ["format", "treeSize", "root", "at", "previousHash", "frontier", "keyId", "signature"];
            if (!names.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal), StringComparer.Ordinal))
                throw new FormatException("a checkpoint has exactly the properties " + string.Join(", ", expected));
            if (root.GetProperty("format").GetString() != Format) throw new FormatException($"not a {Format} checkpoint");
            if (!DateTimeOffset.TryParseExact(root.GetProperty("at").GetString(), AtFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                throw new FormatException("at is a UTC time like 2025-12-01T10:00:00.0000000Z");
            var signature = root.GetProperty("signature").GetString() is { Length: > 0 } s && s.Length % 2 == 0 ? Convert.FromHexString(s) : throw new FormatException("signature is hex");
            return new Checkpoint(
                root.GetProperty("treeSize").GetInt64(),
                Hex.Parse32(root.GetProperty("root").GetString()) ?? throw new FormatException("root is 64 hex digits"),
                at,
                Hex.Parse32(root.GetProperty("previousHash").GetString()) ?? throw new FormatException("previousHash is 64 hex digits"),
                [.. root.GetProperty("frontier").EnumerateArray().Select(h => h.GetString()!)],
                root.GetProperty("keyId").GetString()!,
                signature);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            throw new FormatException("not a checkpoint: " + e.Message, e);
        }
    }
}
