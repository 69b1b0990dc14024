using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Providers;

namespace Gateway.Core.Safety;

/// <summary>Section <c>Gateway:Safety:ContentSafety</c>: where the Azure AI Content Safety resource is and how to reach it.</summary>
public sealed class ContentSafetyOptions
{
    /// <summary>The resource's endpoint, e.g. <c>https://my-safety.cognitiveservices.azure.com/</c>; the service is not used when unset.</summary>
    public string? Endpoint { get; set; }
    /// <summary><c>entra</c> (managed identity, the default) or <c>key</c>.</summary>
    public string Auth { get; set; } = "entra";
    /// <summary>With key auth: the name of the app setting that holds the key (a Key Vault reference in Azure).</summary>
    public string? ApiKeySetting { get; set; }
    public string ApiVersion { get; set; } = "2024-09-01";
    /// <summary>How long a check may take before the policy's fail mode applies.</summary>
    public int TimeoutMs { get; set; } = 2000;
}

/// <summary>What the service said about a text, or that it could not say (<see cref="Unavailable"/>, with why).</summary>
public sealed record ContentSafetyVerdict(IReadOnlyDictionary<string, int> Severities, IReadOnlyList<string> BlocklistHits, bool PromptAttack, bool DocumentAttack)
{
    public string? Unavailable { get; init; }

    /// <summary>Protected material (known text: lyrics, articles, recipes…) was found in an answer.</summary>
    public bool ProtectedMaterial { get; init; }

    public static ContentSafetyVerdict Failed(string why) => new(new Dictionary<string, int>(), [], false, false) { Unavailable = why };
}

/// <summary>
/// A small REST client for Azure AI Content Safety (the SDK package is not in the registry here): <c>text:analyze</c>
/// (Hate, Sexual, Violence, SelfHarm severities and blocklists; texts over the service's 10,000-character limit are
/// split and the highest severity kept), <c>text:shieldPrompt</c> (user prompt attacks; documents — tool results —
/// as indirect attacks) and <c>text:detectProtectedMaterial</c> (answers of 110 characters or more, in pieces of at most 1,000). Entra ID (managed identity) or key auth; every call bounded by the timeout; a failure, a
/// timeout or a 429 is reported as unavailable (never thrown), and the policy's fail mode decides.
/// </summary>
public sealed partial class ContentSafetyClient(HttpClient http, ContentSafetyOptions options, string? apiKey, IAccessTokenSource? tokens,
    Telemetry.GatewayMetrics? metrics = null, Microsoft.Extensions.Logging.ILogger? logger = null)
{
    public const int MaxAnalyzeChars = 10_000;
    public const int MaxShieldChars = 10_000;
    public const string Scope = "https://cognitiveservices.azure.com/.default";
    private readonly Uri _endpoint = new(options.Endpoint!.TrimEnd('/') + "/");

    /// <summary>The service's least text for protected-material detection; shorter answers are not sent.</summary>
    public const int MinProtectedMaterialChars = 110;
    /// <summary>The service's most text per protected-material call; longer answers are split.</summary>
    public const int MaxProtectedMaterialChars = 1_000;

    /// <summary>
    /// Checks <paramref name="text"/> (analysed unless <paramref name="analyze"/> is false), shields <paramref name="userPrompt"/>
    /// and <paramref name="documents"/>, and with <paramref name="protectedMaterial"/> looks for protected material in
    /// <paramref name="text"/> — all calls at once, each within the service's per-call limits.
    /// </summary>
    public async Task<ContentSafetyVerdict> CheckAsync(string text, string? userPrompt, IReadOnlyList<string> documents, IReadOnlyList<string> blocklists,
        CancellationToken cancellationToken, bool analyze = true, bool protectedMaterial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(blocklists);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.TimeoutMs);
        try
        {
            var severities = new Dictionary<string, int>(StringComparer.Ordinal);
            var hits = new List<string>();
            var analyses = analyze ? Split(text, MaxAnalyzeChars).Select(part => AnalyzeAsync(part, blocklists, timeout.Token)).ToList() : [];
            var materials = protectedMaterial && text.Length >= MinProtectedMaterialChars
                ? MaterialParts(text).Select(part => ProtectedMaterialAsync(part, timeout.Token)).ToList()
                : [];
            var shield = userPrompt is not null || documents.Count > 0
                ? ShieldAsync(Truncate(userPrompt ?? "", MaxShieldChars), [.. documents.Select(d => Truncate(d, MaxShieldChars))], timeout.Token)
                : Task.FromResult((false, false));
            foreach (var analysis in analyses)
            {
                var (parts, blocked) = await analysis.ConfigureAwait(false);
                foreach (var (category, severity) in parts) severities[category] = Math.Max(severities.GetValueOrDefault(category), severity);
                hits.AddRange(blocked);
            }

            var (promptAttack, documentAttack) = await shield.ConfigureAwait(false);
            var material = false;
            foreach (var check in materials) material |= await check.ConfigureAwait(false);
            return new ContentSafetyVerdict(severities, [.. hits.Distinct(StringComparer.Ordinal)], promptAttack, documentAttack) { ProtectedMaterial = material };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unavailable("timeout", $"no answer within {options.TimeoutMs} ms");
        }
        catch (ContentSafetyException ex)
        {
            return Unavailable(ex.Throttled ? "throttled" : "failed", ex.Message);
        }
        catch (HttpRequestException ex)
        {
            return Unavailable("failed", "unreachable (" + ex.HttpRequestError.ToString() + ")");
        }
        catch (JsonException)
        {
            return Unavailable("failed", "an answer that is not JSON");
        }
    }

    /// <summary>A check the service could not answer: counted, logged (the reason only, never the text), reported.</summary>
    private ContentSafetyVerdict Unavailable(string reason, string detail)
    {
        metrics?.RecordSafetyUnavailable(reason);
        if (logger is not null) Log.Unavailable(logger, reason, detail);
        return ContentSafetyVerdict.Failed(detail);
    }

    private static partial class Log
    {
        [Microsoft.Extensions.Logging.LoggerMessage(2301, Microsoft.Extensions.Logging.LogLevel.Warning, "Content Safety could not check a request ({Reason}): {Detail}; the policy's fail mode applies")]
        public static partial void Unavailable(Microsoft.Extensions.Logging.ILogger logger, string reason, string detail);
    }

    private async Task<(List<(string, int)> Severities, List<string> Blocklists)> AnalyzeAsync(string text, IReadOnlyList<string> blocklists, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["text"] = text,
            ["categories"] = new JsonArray("Hate", "Sexual", "Violence", "SelfHarm"),
            ["outputType"] = "FourSeverityLevels",
        };
        if (blocklists.Count > 0)
        {
            body["blocklistNames"] = new JsonArray([.. blocklists.Select(b => (JsonNode)b)]);
            body["haltOnBlocklistHit"] = false;
        }

        var answer = await PostAsync("contentsafety/text:analyze", body, ct).ConfigureAwait(false);
        var severities = new List<(string, int)>();
        foreach (var item in answer["categoriesAnalysis"] as JsonArray ?? [])
        {
            if ((string?)item?["category"] is { } category && item?["severity"] is JsonValue s && s.TryGetValue<int>(out var severity)) severities.Add((category, severity));
        }

        var hits = (answer["blocklistsMatch"] as JsonArray ?? []).Select(m => (string?)m?["blocklistName"]).OfType<string>().ToList();
        return (severities, hits);
    }

    private async Task<bool> ProtectedMaterialAsync(string text, CancellationToken ct)
    {
        var answer = await PostAsync("contentsafety/text:detectProtectedMaterial", new JsonObject { ["text"] = text }, ct).ConfigureAwait(false);
        return (bool?)answer["protectedMaterialAnalysis"]?["detected"] ?? false;
    }

    private async Task<(bool Prompt, bool Documents)> ShieldAsync(string userPrompt, List<string> documents, CancellationToken ct)
    {
        var body = new JsonObject { ["userPrompt"] = userPrompt, ["documents"] = new JsonArray([.. documents.Select(d => (JsonNode)d)]) };
        var answer = await PostAsync("contentsafety/text:shieldPrompt", body, ct).ConfigureAwait(false);
        var prompt = (bool?)answer["userPromptAnalysis"]?["attackDetected"] ?? false;
        var docs = (answer["documentsAnalysis"] as JsonArray ?? []).Any(d => (bool?)d?["attackDetected"] == true);
        return (prompt, docs);
    }

    private async Task<JsonObject> PostAsync(string path, JsonObject body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, path + "?api-version=" + Uri.EscapeDataString(options.ApiVersion)))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (string.Equals(options.Auth, "key", StringComparison.OrdinalIgnoreCase)) request.Headers.Add("Ocp-Apim-Subscription-Key", apiKey);
        else if (tokens is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await tokens.GetTokenAsync(Scope, ct).ConfigureAwait(false));
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
            throw new ContentSafetyException($"throttled (429, retry after {UpstreamErrors.RetryAfterSeconds(response)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} s)") { Throttled = true };
        if (!response.IsSuccessStatusCode) throw new ContentSafetyException($"HTTP {(int)response.StatusCode}");
        return await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), cancellationToken: ct).ConfigureAwait(false) as JsonObject
            ?? throw new ContentSafetyException("an answer that is not a JSON object");
    }

    /// <summary>Pieces of at most <paramref name="max"/> characters, never splitting a surrogate pair.</summary>
    public static IEnumerable<string> Split(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var at = 0; at < text.Length;)
        {
            var n = Math.Min(max, text.Length - at);
            if (n < text.Length - at && char.IsHighSurrogate(text[at + n - 1])) n--;
            yield return text.Substring(at, n);
            at += n;
        }
    }

    /// <summary>Pieces within the protected-material call's limits: a last piece under the minimum is the text's last 1,000 characters instead.</summary>
    private static List<string> MaterialParts(string text)
    {
        var parts = Split(text, MaxProtectedMaterialChars).ToList();
        if (parts.Count > 1 && parts[^1].Length < MinProtectedMaterialChars) parts[^1] = text[^MaxProtectedMaterialChars..];
        return parts;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[^max..];

    private sealed class ContentSafetyException(string message) : Exception(message)
    {
        public bool Throttled { get; init; }
    }
}
