namespace Gateway.Core.Dashboard;

/// <summary>
/// The headers on the dashboard's page, its assets and its session answers: a Content-Security-Policy that lets the page
/// load only its own script, style and data from the gateway (no inline script or style, no CDN, no framing), and the
/// usual companions (nosniff, no referrer, no framing for old browsers, a separate browsing context group).
/// </summary>
public static class DashboardHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly KeyValuePair<string, string>[] Security =
    [
        new("Content-Security-Policy", ContentSecurityPolicy),
        new("X-Content-Type-Options", "nosniff"),
        new("Referrer-Policy", "no-referrer"),
        new("X-Frame-Options", "DENY"),
        new("Cross-Origin-Opener-Policy", "same-origin"),
        new("Cross-Origin-Resource-Policy", "same-origin"),
        new("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ];

    /// <summary>The page: never cached (it is small, and what it shows depends on the session).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Page => [.. Security, new("Cache-Control", "no-store")];

    /// <summary>A script, style sheet or icon: revalidated against its ETag on every load, so a new build is picked up at once.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Asset(string etag) => [.. Security, new("Cache-Control", "no-cache"), new("ETag", etag)];

    /// <summary>Session answers (sign-in, sign-out, who is signed in): never cached.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Session => [.. Security, new("Cache-Control", "no-store")];
}
