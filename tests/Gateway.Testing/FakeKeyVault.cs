using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Testing;

/// <summary>
/// Key Vault's keys API as the audit signer uses it, on a loopback port: <c>GET /keys/{name}[/{version}]</c> answers
/// the key as a JWK (EC P-256, or RSA to test refusal) and <c>POST /keys/{name}/{version}/sign</c> signs an ES256
/// digest (r‖s, base64url) — the private key never leaves this server, as it never leaves the vault.
/// </summary>
public sealed class FakeKeyVault : IAsyncDisposable
{
    public const string Version = "0123456789abcdef";
    private readonly WebApplication _app;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private FakeKeyVault(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>Answer every request with this status instead (403: the identity lacks the role).</summary>
    public int? Status { get; set; }

    /// <summary>Serve an RSA key instead of an EC one.</summary>
    public bool Rsa { get; set; }

    /// <summary>Each request: method, path and the bearer token it carried.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Token)> Requests { get; } = new();

    public static async Task<FakeKeyVault> StartAsync()
    {
        var app = LoopbackApp.Create();
        FakeKeyVault? vault = null;
        app.Run(context => vault!.HandleAsync(context));
        vault = new FakeKeyVault(app, await LoopbackApp.StartAsync(app));
        return vault;
    }

    /// <summary>The key's id without a version, as settings name it.</summary>
    public string KeyId => BaseUri + "keys/audit";

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var token = context.Request.Headers.Authorization.FirstOrDefault()?.Replace("Bearer ", "", StringComparison.Ordinal);
        Requests.Enqueue((context.Request.Method, path, token));
        if (Status is { } status || token is null)
        {
            context.Response.StatusCode = Status ?? 401;
            await context.Response.WriteAsync("""{"error":{"code":"Forbidden","message":"no"}}""");
            return;
        }

        if (context.Request.Method == "GET" && path is "/keys/audit" or "/keys/audit/" + Version)
        {
            var q = _key.ExportParameters(false).Q;
            var jwk = Rsa
                ? new JsonObject { ["kid"] = KeyId + "/" + Version, ["kty"] = "RSA", ["n"] = "AQAB", ["e"] = "AQAB" }
                : new JsonObject { ["kid"] = KeyId + "/" + Version, ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64Url(q.X!), ["y"] = Base64Url(q.Y!) };
            await context.Response.WriteAsJsonAsync(new JsonObject { ["key"] = jwk });
            return;
        }

        if (context.Request.Method == "POST" && path == "/keys/audit/" + Version + "/sign")
        {
            var body = await JsonNode.ParseAsync(context.Request.Body);
            if ((string?)body?["alg"] != "ES256")
            {
                context.Response.StatusCode = 400;
                return;
            }

            var digest = FromBase64Url((string)body!["value"]!);
            var signature = _key.SignHash(digest, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            await context.Response.WriteAsJsonAsync(new JsonObject { ["kid"] = KeyId + "/" + Version, ["value"] = Base64Url(signature) });
            return;
        }

        context.Response.StatusCode = 404;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - (s.Length % 4)) % 4));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
    }
}
