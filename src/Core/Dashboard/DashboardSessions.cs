using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;

namespace Gateway.Core.Dashboard;

/// <summary>
/// Dashboard sign-in and the admin calls a session authorises. The admin key is exchanged once
/// (<see cref="SignIn"/>) for a short-lived signed session (<see cref="AdminSessions"/>) kept in an HttpOnly,
/// SameSite=Strict cookie scoped to <c>/gateway</c>: never a key in a URL or in page storage. A call the session
/// authorises must also carry the header <see cref="CsrfHeader"/> (a page elsewhere cannot add it without a CORS
/// preflight the gateway never grants), so the cookie alone authorises nothing.
/// </summary>
public sealed class DashboardSessions
{
    public const string CookieName = "gw_admin_session";
    public const string CookiePath = "/gateway";
    public const string CsrfHeader = "x-gateway-dashboard";

    private DashboardSessions(AdminSessions? sessions, string? disabled, string? warning)
    {
        Sessions = sessions;
        Disabled = disabled;
        Warning = warning;
    }

    /// <summary>The session signer; null when sign-in is off (<see cref="Disabled"/> says why).</summary>
    public AdminSessions? Sessions { get; }

    /// <summary>Why dashboard sign-in is off, or null when it is on.</summary>
    public string? Disabled { get; }

    /// <summary>Something to log once at start (a generated development key), or null.</summary>
    public string? Warning { get; }

    /// <summary>
    /// Sessions from the settings: signed with <see cref="DashboardOptions.SessionKey"/>; without one, with a key generated
    /// now in Development, and off elsewhere; off too without an admin key. Settings that are wrong (see
    /// <see cref="DashboardOptions.Validate"/>) stop the app before this.
    /// </summary>
    public static DashboardSessions Create(DashboardOptions options, string? adminKey, bool development, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(adminKey) || SecretReference.IsUnresolvedKeyVaultReference(adminKey))
            return new DashboardSessions(null, "Dashboard sign-in is off: no admin key is configured (setting Gateway:AdminKey).", null);
        var lifetime = TimeSpan.FromMinutes(options.SessionMinutes);
        var adminHash = KeyHasher.Hash(adminKey);
        if (SecretReference.IsUnresolvedKeyVaultReference(options.SessionKey))
            return new DashboardSessions(null, "Dashboard sign-in is off: the setting Gateway:Dashboard:SessionKey holds a Key Vault reference the platform did not resolve (check the app's identity has 'Key Vault Secrets User' on the vault).", null);
        if (!string.IsNullOrEmpty(options.SessionKey))
            return new DashboardSessions(new AdminSessions(Encoding.UTF8.GetBytes(options.SessionKey), adminHash, lifetime, time), null, null);
        if (!development)
            return new DashboardSessions(null, "Dashboard sign-in is off: set Gateway:Dashboard:SessionKey (a secret of at least 32 characters; a Key Vault reference in Azure).", null);
        return new DashboardSessions(new AdminSessions(RandomNumberGenerator.GetBytes(AdminSessions.MinimumKeyBytes), adminHash, lifetime, time), null,
            "Gateway:Dashboard:SessionKey is not set: dashboard sessions are signed with a key generated at start (Development only), so they end when the app restarts and hold on this instance only.");
    }

    /// <summary>Exchanges the admin key for a session; refuses a wrong key (401), a missing <see cref="CsrfHeader"/> (403) and a disabled dashboard (403).</summary>
    public AdminSession SignIn(AdminAuthenticator admin, string? presentedKey, string? csrfHeader)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var sessions = Enabled();
        DemandHeader(csrfHeader);
        admin.Demand(presentedKey);
        return sessions.Issue();
    }

    /// <summary>The end of the session a request presents, or a refusal: no or a bad session (401), no <see cref="CsrfHeader"/> (403).</summary>
    public DateTimeOffset Demand(string? token, string? csrfHeader)
    {
        var sessions = Enabled();
        DemandHeader(csrfHeader);
        return sessions.Verify(token, out var expires) == AdminSessionCheck.Valid ? expires : throw Errors.Errors.InvalidSession();
    }

    /// <summary>An admin call: the admin key when one is presented (as every admin route takes it), else the dashboard session.</summary>
    public void Authorize(AdminAuthenticator admin, string? presentedKey, string? token, string? csrfHeader)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (presentedKey is not null || token is null) admin.Demand(presentedKey);
        else Demand(token, csrfHeader);
    }

    private AdminSessions Enabled() => Sessions ?? throw Errors.Errors.DashboardDisabled(Disabled!);

    private static void DemandHeader(string? value)
    {
        if (value?.Trim() != "1") throw Errors.Errors.DashboardHeaderMissing(CsrfHeader);
    }

    /// <summary>The Set-Cookie value that holds a session.</summary>
    public static string SetCookie(AdminSession session, bool secure, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(session);
        var seconds = Math.Max(0, (long)Math.Floor((session.ExpiresAt - now).TotalSeconds));
        return $"{CookieName}={session.Token}; Max-Age={seconds.ToString(CultureInfo.InvariantCulture)}{Attributes(secure)}";
    }

    /// <summary>The Set-Cookie value that ends a session in the browser (sign-out).</summary>
    public static string ClearCookie(bool secure) => $"{CookieName}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{Attributes(secure)}";

    private static string Attributes(bool secure) => $"; Path={CookiePath}; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");

    /// <summary>
    /// Whether the cookie is marked Secure: always, except over plain HTTP to a loopback host (a developer's machine,
    /// <c>func start</c>). Behind a TLS front end (Azure) the request says https itself or through <c>X-Forwarded-Proto</c>;
    /// plain HTTP to any other host still gets a Secure cookie, which the browser keeps off that connection.
    /// </summary>
    public static bool SecureCookie(string scheme, string? forwardedProto, string host)
    {
        if (string.Equals(scheme, "https", StringComparison.OrdinalIgnoreCase)) return true;
        if (forwardedProto?.Split(',')[0].Trim().Equals("https", StringComparison.OrdinalIgnoreCase) == true) return true;
        var name = host.StartsWith('[') ? host[..(host.IndexOf(']', StringComparison.Ordinal) + 1)] : host.Split(':')[0];
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)) return false;
        return !(IPAddress.TryParse(name.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
