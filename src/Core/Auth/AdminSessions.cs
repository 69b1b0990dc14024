using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Auth;

/// <summary>What a presented session token turned out to be.</summary>
public enum AdminSessionCheck
{
    Valid,
    /// <summary>No token was presented.</summary>
    Missing,
    /// <summary>Not a token this gateway issues (wrong shape, version or lengths).</summary>
    Malformed,
    /// <summary>Well formed, but its signature is not ours: altered, signed with another key, or signed while another admin key was in force.</summary>
    BadSignature,
    /// <summary>Signed by us, but past its end (or issued for longer than sessions now last).</summary>
    Expired,
}

/// <summary>An issued session: the token (the cookie's value) and when it ends.</summary>
public sealed record AdminSession(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Short-lived admin sessions for the dashboard, exchanged for the admin key once: a token
/// <c>v1.&lt;expiry, unix seconds&gt;.&lt;16-byte nonce&gt;.&lt;HMAC-SHA256&gt;</c> (base64url), signed with the session key over
/// its version, expiry and nonce and the hash of the admin key in force — so changing the admin key ends every session.
/// Nothing is stored: a token is valid until it expires, wherever it is presented to an instance holding the same keys.
/// </summary>
public sealed class AdminSessions
{
    /// <summary>The least signing key accepted, in bytes (HMAC-SHA256's block of security).</summary>
    public const int MinimumKeyBytes = 32;

    private const string Version = "v1";
    private const int NonceBytes = 16;
    private const int MacBytes = 32;
    private const int MaxTokenLength = 128;
    /// <summary>Clocks of instances differ a little: a token may end this much later than the lifetime says.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private readonly byte[] _key;
    private readonly byte[] _adminKeyHash;
    private readonly TimeProvider _time;

    public AdminSessions(ReadOnlySpan<byte> signingKey, string adminKeyHash, TimeSpan lifetime, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(adminKeyHash);
        ArgumentNullException.ThrowIfNull(time);
        if (signingKey.Length < MinimumKeyBytes) throw new ArgumentException($"A session signing key has at least {MinimumKeyBytes} bytes.", nameof(signingKey));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        _key = signingKey.ToArray();
        _adminKeyHash = Encoding.ASCII.GetBytes(adminKeyHash);
        _time = time;
        Lifetime = lifetime;
    }

    /// <summary>How long a session lasts from sign-in.</summary>
    public TimeSpan Lifetime { get; }

    public AdminSession Issue()
    {
        var expires = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds());
        Span<byte> nonce = stackalloc byte[NonceBytes];
        RandomNumberGenerator.Fill(nonce);
        var payload = Version + "." + expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "." + Base64Url.EncodeToString(nonce);
        return new AdminSession(payload + "." + Base64Url.EncodeToString(Mac(payload)), expires);
    }

    public AdminSessionCheck Verify(string? token) => Verify(token, out _);

    /// <summary>Checks a token; <paramref name="expiresAt"/> is its end when it is <see cref="AdminSessionCheck.Valid"/>.</summary>
    public AdminSessionCheck Verify(string? token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        if (string.IsNullOrEmpty(token)) return AdminSessionCheck.Missing;
        if (token.Length > MaxTokenLength) return AdminSessionCheck.Malformed;
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0] != Version) return AdminSessionCheck.Malformed;
        if (parts[1].Length is 0 or > 12 || !parts[1].All(char.IsAsciiDigit)) return AdminSessionCheck.Malformed;
        // exactly the unpadded base64url lengths we write (the decoder throws on characters outside its alphabet)
        if (parts[2].Length != Base64Url.GetEncodedLength(NonceBytes) || parts[3].Length != Base64Url.GetEncodedLength(MacBytes)
            || !IsBase64Url(parts[2]) || !IsBase64Url(parts[3])) return AdminSessionCheck.Malformed;
        Span<byte> nonce = stackalloc byte[NonceBytes];
        Span<byte> mac = stackalloc byte[MacBytes];
        if (!TryDecode(parts[2], nonce) || !TryDecode(parts[3], mac)) return AdminSessionCheck.Malformed;
        // the encodings must be the ones we write, so one token has one spelling
        if (Base64Url.EncodeToString(nonce) != parts[2] || Base64Url.EncodeToString(mac) != parts[3]) return AdminSessionCheck.Malformed;

        if (!CryptographicOperations.FixedTimeEquals(mac, Mac(token[..token.LastIndexOf('.')]))) return AdminSessionCheck.BadSignature;
        var expires = DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
        var now = _time.GetUtcNow();
        if (now >= expires || expires > now + Lifetime + ClockSkew) return AdminSessionCheck.Expired;
        expiresAt = expires;
        return AdminSessionCheck.Valid;
    }

    /// <summary>Decodes exactly <paramref name="into"/>'s length; false for anything else, including a last character whose
    /// unused bits are not zero (which the decoder refuses by throwing).</summary>
    private static bool TryDecode(string text, Span<byte> into)
    {
        try
        {
            return Base64Url.TryDecodeFromChars(text, into, out var written) && written == into.Length;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsBase64Url(string text) => text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private byte[] Mac(string payload)
    {
        var bytes = new byte[Encoding.ASCII.GetByteCount(payload) + 1 + _adminKeyHash.Length];
        var written = Encoding.ASCII.GetBytes(payload, bytes);
        bytes[written] = (byte)'|';
        _adminKeyHash.CopyTo(bytes, written + 1);
        return HMACSHA256.HashData(_key, bytes);
    }
}
