using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.Core.Providers;

namespace Gateway.Core.Audit;

/// <summary>
/// Signs checkpoints with an EC P-256 key held in Azure Key Vault, through its REST API (<c>keys/{name}/{version}/sign</c>,
/// ES256 over the payload's SHA-256; the answer is r‖s, the P1363 form the verifier reads) with the app's managed
/// identity: the private half never leaves the vault, so whoever can write the log cannot sign a checkpoint for it.
/// The key's current version is pinned at start (its public half is read then, for the verify endpoint).
/// </summary>
public sealed class KeyVaultCheckpointSigner : ICheckpointSigner
{
    public const string Scope = "https://vault.azure.net/.default";
    private const string ApiVersion = "7.4";

    private readonly HttpClient _http;
    private readonly IAccessTokenSource _tokens;

    private KeyVaultCheckpointSigner(HttpClient http, IAccessTokenSource tokens, string keyId, byte[] publicKey)
    {
        _http = http;
        _tokens = tokens;
        KeyId = keyId;
        PublicKey = publicKey;
    }

    /// <summary>The versioned key id (<c>https://{vault}.vault.azure.net/keys/{name}/{version}</c>).</summary>
    public string KeyId { get; }

    /// <summary>The public key as SubjectPublicKeyInfo (DER).</summary>
    public byte[] PublicKey { get; }

    /// <summary>Reads the key (its current version when <paramref name="keyId"/> names none) and checks it is EC P-256.</summary>
    public static async Task<KeyVaultCheckpointSigner> OpenAsync(HttpClient http, IAccessTokenSource tokens, string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        using var request = new HttpRequestMessage(HttpMethod.Get, keyId.TrimEnd('/') + "?api-version=" + ApiVersion);
        request.Headers.Authorization = new("Bearer", await tokens.GetTokenAsync(Scope, cancellationToken).ConfigureAwait(false));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Key Vault answered {(int)response.StatusCode} reading the audit signing key '{keyId}'.");
        var key = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false))?["key"] as JsonObject
            ?? throw new InvalidOperationException($"Key Vault's answer for '{keyId}' holds no key.");
        if ((string?)key["kty"] is not ("EC" or "EC-HSM") || (string?)key["crv"] != "P-256")
            throw new InvalidOperationException($"The audit signing key '{keyId}' must be an EC key on P-256.");
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64Url((string?)key["x"]), Y = Base64Url((string?)key["y"]) },
        });
        return new KeyVaultCheckpointSigner(http, tokens, (string?)key["kid"] ?? keyId, ecdsa.ExportSubjectPublicKeyInfo());
    }

    public async ValueTask<byte[]> SignAsync(byte[] payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, KeyId + "/sign?api-version=" + ApiVersion)
        {
            Content = JsonContent.Create(new JsonObject { ["alg"] = "ES256", ["value"] = Base64Url(SHA256.HashData(payload)) }),
        };
        request.Headers.Authorization = new("Bearer", await _tokens.GetTokenAsync(Scope, cancellationToken).ConfigureAwait(false));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Key Vault answered {(int)response.StatusCode} signing an audit checkpoint.");
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
        var signature = Base64Url((string?)answer?["value"]);
        return signature.Length == 64 ? signature : throw new InvalidOperationException("Key Vault's ES256 signature is not 64 bytes.");
    }

    private static byte[] Base64Url(string? text)
    {
        if (string.IsNullOrEmpty(text)) throw new InvalidOperationException("Key Vault's answer lacks a value.");
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - (s.Length % 4)) % 4));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
