using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Dashboard;
using Gateway.Core.Errors;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Dashboard;

public sealed class DashboardSessionsTests
{
    private const string AdminKey = "sk-gw-admin-test";
    private const string SessionKey = "a-session-key-of-at-least-thirty-two-characters";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
    private readonly AdminAuthenticator _admin = new(new GatewayOptions { AdminKey = AdminKey });

    private DashboardSessions Create(string? sessionKey = SessionKey, bool development = false, string? adminKey = AdminKey) =>
        DashboardSessions.Create(new DashboardOptions { SessionKey = sessionKey }, adminKey, development, _time);

    private static string Code(Action action) => Assert.Throws<GatewayException>(action).Error.Code!;

    [Fact]
    public void The_admin_key_with_the_dashboard_header_signs_in_for_fifteen_minutes()
    {
        var dashboard = Create();
        var session = dashboard.SignIn(_admin, AdminKey, "1");
        Assert.Equal(_time.GetUtcNow().AddMinutes(15), session.ExpiresAt);
        Assert.Equal(session.ExpiresAt, dashboard.Demand(session.Token, "1"));
    }

    [Fact]
    public void A_wrong_key_or_no_dashboard_header_does_not_sign_in()
    {
        var dashboard = Create();
        Assert.Equal("invalid_admin_key", Code(() => dashboard.SignIn(_admin, "sk-gw-wrong", "1")));
        Assert.Equal("csrf_check_failed", Code(() => dashboard.SignIn(_admin, AdminKey, null)));
        Assert.Equal("csrf_check_failed", Code(() => dashboard.SignIn(_admin, AdminKey, "yes")));
    }

    [Fact]
    public void A_session_authorises_only_with_the_dashboard_header_and_only_until_it_ends()
    {
        var dashboard = Create();
        var token = dashboard.SignIn(_admin, AdminKey, "1").Token;
        dashboard.Authorize(_admin, null, token, "1");
        Assert.Equal("csrf_check_failed", Code(() => dashboard.Authorize(_admin, null, token, null)));
        Assert.Equal("invalid_session", Code(() => dashboard.Authorize(_admin, null, token[..^2] + "AA", "1")));
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal("invalid_session", Code(() => dashboard.Authorize(_admin, null, token, "1")));
    }

    [Fact]
    public void An_admin_key_presented_is_checked_whatever_the_cookie_says()
    {
        var dashboard = Create();
        var token = dashboard.SignIn(_admin, AdminKey, "1").Token;
        dashboard.Authorize(_admin, AdminKey, null, null);
        Assert.Equal("invalid_admin_key", Code(() => dashboard.Authorize(_admin, "sk-gw-wrong", token, "1")));
        Assert.Equal("invalid_admin_key", Code(() => dashboard.Authorize(_admin, null, null, "1")));
    }

    [Fact]
    public void Sessions_signed_elsewhere_with_the_same_keys_are_accepted_and_with_another_key_refused()
    {
        var token = Create().SignIn(_admin, AdminKey, "1").Token;
        Create().Demand(token, "1");
        Assert.Equal("invalid_session", Code(() => Create(sessionKey: "another-session-key-of-thirty-two-characters").Demand(token, "1")));
    }

    [Fact]
    public void Without_a_session_key_development_generates_one_and_says_so_and_elsewhere_sign_in_is_off()
    {
        var development = Create(sessionKey: null, development: true);
        Assert.NotNull(development.Sessions);
        Assert.Contains("generated at start", development.Warning, StringComparison.Ordinal);
        development.Demand(development.SignIn(_admin, AdminKey, "1").Token, "1");
        // a restarted process generates another key: the old sessions end
        var restarted = Create(sessionKey: null, development: true);
        Assert.Equal("invalid_session", Code(() => restarted.Demand(development.SignIn(_admin, AdminKey, "1").Token, "1")));

        var production = Create(sessionKey: null);
        Assert.Null(production.Sessions);
        Assert.Contains("Gateway:Dashboard:SessionKey", production.Disabled, StringComparison.Ordinal);
        Assert.Equal("dashboard_disabled", Code(() => production.SignIn(_admin, AdminKey, "1")));
    }

    [Fact]
    public void An_unresolved_key_vault_reference_or_no_admin_key_turns_sign_in_off()
    {
        var unresolved = Create(sessionKey: "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)", development: true);
        Assert.Null(unresolved.Sessions);
        Assert.Contains("Key Vault reference", unresolved.Disabled, StringComparison.Ordinal);
        Assert.Null(Create(adminKey: null, development: true).Sessions);
    }

    [Theory]
    [InlineData(15, SessionKey, 0)]
    [InlineData(0.5, SessionKey, 1)]
    [InlineData(61, SessionKey, 1)]
    [InlineData(15, "short", 1)]
    [InlineData(0, "short", 2)]
    public void Settings_are_validated_naming_the_setting_and_never_the_key(double minutes, string key, int errors)
    {
        var found = new DashboardOptions { SessionMinutes = minutes, SessionKey = key }.Validate();
        Assert.Equal(errors, found.Count);
        Assert.All(found, e => Assert.StartsWith("Gateway:Dashboard:", e, StringComparison.Ordinal));
        Assert.All(found, e => Assert.DoesNotContain(key, e, StringComparison.Ordinal));
    }

    [Fact]
    public void The_cookie_is_http_only_strict_scoped_to_the_gateway_and_secure_unless_plain_http_on_loopback()
    {
        var session = new AdminSession("v1.x.y.z", _time.GetUtcNow().AddMinutes(15));
        var cookie = DashboardSessions.SetCookie(session, secure: true, _time.GetUtcNow());
        Assert.Equal("gw_admin_session=v1.x.y.z; Max-Age=900; Path=/gateway; HttpOnly; SameSite=Strict; Secure", cookie);
        Assert.DoesNotContain("Secure", DashboardSessions.SetCookie(session, secure: false, _time.GetUtcNow()), StringComparison.Ordinal);
        Assert.StartsWith("gw_admin_session=; Max-Age=0;", DashboardSessions.ClearCookie(true), StringComparison.Ordinal);

        Assert.False(DashboardSessions.SecureCookie("http", null, "localhost:7071"));
        Assert.False(DashboardSessions.SecureCookie("http", null, "127.0.0.1:7071"));
        Assert.False(DashboardSessions.SecureCookie("http", null, "[::1]:7071"));
        Assert.True(DashboardSessions.SecureCookie("https", null, "127.0.0.1"));
        Assert.True(DashboardSessions.SecureCookie("http", "https", "localhost"));
        Assert.True(DashboardSessions.SecureCookie("http", null, "gateway.example.com"));
        Assert.True(DashboardSessions.SecureCookie("http", null, "10.0.0.4:80"));
    }

    [Fact]
    public void The_page_policy_allows_only_the_gateway_itself_and_no_framing()
    {
        var headers = DashboardHeaders.Page.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        var csp = headers["Content-Security-Policy"];
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("http", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", headers["X-Content-Type-Options"]);
        Assert.Equal("no-referrer", headers["Referrer-Policy"]);
        Assert.Equal("no-store", headers["Cache-Control"]);
        Assert.Equal("\"abc\"", DashboardHeaders.Asset("\"abc\"").Single(h => h.Key == "ETag").Value);
    }
}
