using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Auth;

/// <summary>
/// Creates gateway keys and hashes them. Keys carry 256 random bits, so a single SHA-256 is enough:
/// there is nothing to brute-force that a slow hash would protect.
/// </summary>
public static class KeyHasher
{
    public const string KeyPrefix = "sk-gw-";

    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes.</summary>
    public static string Hash(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(key);
        SHA256.HashData(bytes, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>A new key: <c>sk-gw-</c> followed by 43 URL-safe base64 characters.</summary>
    public static string NewKey()
    {
        Span<byte> secret = stackalloc byte[32];
        RandomNumberGenerator.Fill(secret);
        return KeyPrefix + Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>A short public id for a key: 12 lower-case base32 characters.</summary>
    public static string NewId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        var chars = new char[12];
        for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[bytes[i] & 31];
        return "key_" + new string(chars);
    }

    /// <summary>What may be shown of a key: its first characters, enough to recognise it.</summary>
    public static string DisplayPrefix(string key) => key.Length <= 10 ? key[..Math.Min(4, key.Length)] + "…" : key[..10] + "…";

    /// <summary>Compares two hashes in constant time.</summary>
    public static bool HashEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
