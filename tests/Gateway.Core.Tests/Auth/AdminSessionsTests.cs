using System.Buffers.Text;
using System.Text;
using Gateway.Core.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Auth;

public sealed class AdminSessionsTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("session-signing-key-of-at-least-32-bytes!");
    private static readonly string AdminHash = KeyHasher.Hash("sk-gw-admin");
    private readonly FakeTimeProvider _time = new(Start);

    private AdminSessions Sessions(byte[]? key = null, string? adminHash = null, double minutes = 15) =>
        new(key ?? Key, adminHash ?? AdminHash, TimeSpan.FromMinutes(minutes), _time);

    [Fact]
    public void An_issued_session_is_valid_until_it_expires_and_not_after()
    {
        var sessions = Sessions();
        var session = sessions.Issue();
        Assert.Equal(Start.AddMinutes(15), session.ExpiresAt);
        Assert.Equal(AdminSessionCheck.Valid, sessions.Verify(session.Token, out var expires));
        Assert.Equal(session.ExpiresAt, expires);

        _time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Equal(AdminSessionCheck.Valid, sessions.Verify(session.Token));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(AdminSessionCheck.Expired, sessions.Verify(session.Token));
    }

    [Fact]
    public void Each_session_is_its_own_token()
    {
        var sessions = Sessions();
        Assert.NotEqual(sessions.Issue().Token, sessions.Issue().Token);
    }

    [Fact]
    public void Any_changed_character_is_refused()
    {
        var sessions = Sessions();
        var token = sessions.Issue().Token;
        for (var i = 0; i < token.Length; i++)
        {
            var changed = token[..i] + (token[i] == 'A' ? 'B' : 'A') + token[(i + 1)..];
            Assert.NotEqual(AdminSessionCheck.Valid, sessions.Verify(changed));
        }
    }

    [Fact]
    public void A_last_character_with_stray_bits_is_malformed_not_an_exception()
    {
        var sessions = Sessions();
        var token = sessions.Issue().Token;
        // a last character carries unused bits (2 of the MAC's, 4 of the nonce's): any other value there is refused, never thrown on
        foreach (var c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        {
            var changed = token[..^1] + c;
            if (changed == token) continue;
            Assert.NotEqual(AdminSessionCheck.Valid, sessions.Verify(changed));
        }

        var parts = token.Split('.');
        var nonceEnd = parts[0].Length + 1 + parts[1].Length + 1 + parts[2].Length - 1;
        foreach (var c in "BCDEFGHIJKLMNOP")
        {
            var changed = token[..nonceEnd] + c + token[(nonceEnd + 1)..];
            if (changed == token) continue;
            Assert.NotEqual(AdminSessionCheck.Valid, sessions.Verify(changed));
        }
    }

    [Fact]
    public void A_later_expiry_written_into_the_token_is_a_bad_signature()
    {
        var sessions = Sessions();
        var parts = sessions.Issue().Token.Split('.');
        parts[1] = Start.AddMinutes(14).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(AdminSessionCheck.BadSignature, sessions.Verify(string.Join('.', parts)));
    }

    [Fact]
    public void A_token_signed_with_another_key_is_a_bad_signature()
    {
        var other = Sessions(Encoding.UTF8.GetBytes("another-signing-key-of-32-bytes-or-more"));
        Assert.Equal(AdminSessionCheck.BadSignature, Sessions().Verify(other.Issue().Token));
    }

    [Fact]
    public void Changing_the_admin_key_ends_every_session()
    {
        var token = Sessions().Issue().Token;
        Assert.Equal(AdminSessionCheck.BadSignature, Sessions(adminHash: KeyHasher.Hash("sk-gw-admin-rotated")).Verify(token));
    }

    [Fact]
    public void A_session_longer_than_sessions_now_last_is_expired()
    {
        var token = Sessions(minutes: 60).Issue().Token;
        Assert.Equal(AdminSessionCheck.Expired, Sessions(minutes: 15).Verify(token));
    }

    [Theory]
    [InlineData(null, AdminSessionCheck.Missing)]
    [InlineData("", AdminSessionCheck.Missing)]
    [InlineData("v1", AdminSessionCheck.Malformed)]
    [InlineData("v1.1.2", AdminSessionCheck.Malformed)]
    [InlineData("v2.1795600000.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AdminSessionCheck.Malformed)]
    [InlineData("v1.-1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AdminSessionCheck.Malformed)]
    [InlineData("v1.1795600000.AAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AdminSessionCheck.Malformed)]
    [InlineData("v1.1795600000.AAAAAAAAAAAAAAAAAAAAAA.AAAA", AdminSessionCheck.Malformed)]
    [InlineData("v1.1795600000.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AdminSessionCheck.BadSignature)]
    public void Tokens_of_the_wrong_shape_are_malformed(string? token, AdminSessionCheck expected)
    {
        Assert.Equal(expected, Sessions().Verify(token));
    }

    [Fact]
    public void A_token_spelled_with_padding_or_another_alphabet_is_malformed()
    {
        var sessions = Sessions();
        var token = sessions.Issue().Token;
        var parts = token.Split('.');
        var mac = Base64Url.DecodeFromChars(parts[3]);
        Assert.Equal(AdminSessionCheck.Malformed, sessions.Verify($"{parts[0]}.{parts[1]}.{parts[2]}.{Convert.ToBase64String(mac)}"));
        Assert.Equal(AdminSessionCheck.Malformed, sessions.Verify(token + "=="));
    }

    [Fact]
    public void A_key_shorter_than_32_bytes_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Sessions(new byte[31]));
    }
}
