using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.Deploy;

/// <summary>Gets a bearer token for Azure Resource Manager (never printed).</summary>
public interface IArmTokenSource
{
    Task<string> GetTokenAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The two Azure Resource Manager calls a deployment makes on the function app: restart (every instance starts again and
/// loads the released package) and sync triggers (the platform reads the new package's functions, so the scale controller
/// knows queue and timer triggers that were added or removed).
/// </summary>
public sealed class ArmClient(HttpClient http, Uri endpoint, IArmTokenSource tokens)
{
    public const string ApiVersion = "2024-11-01";

    public Task RestartAsync(string appId, CancellationToken cancellationToken) => PostAsync(appId, "restart", cancellationToken);

    public Task SyncTriggersAsync(string appId, CancellationToken cancellationToken) => PostAsync(appId, "syncfunctiontriggers", cancellationToken);

    private async Task PostAsync(string appId, string action, CancellationToken cancellationToken)
    {
        var uri = new Uri(endpoint, $"{appId.TrimEnd('/')}/{action}?api-version={ApiVersion}");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return;
        throw new DeployException($"Azure Resource Manager answered {(int)response.StatusCode} to {action} of {appId}: {await ErrorOf(response, cancellationToken).ConfigureAwait(false)}");
    }

    /// <summary>ARM's error code and message (its error body: {"error":{"code","message"}}); never the request.</summary>
    private static async Task<string> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("error", out var error))
                return $"{(error.TryGetProperty("code", out var code) ? code.GetString() : "?")}: {(error.TryGetProperty("message", out var message) ? message.GetString() : "")}";
        }
        catch (JsonException)
        {
        }

        return response.ReasonPhrase ?? "no error body";
    }

    /// <summary>Checks that <paramref name="appId"/> is a function app's resource ID.</summary>
    public static bool IsSiteId(string appId) =>
        appId.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase) &&
        appId.Contains("/providers/Microsoft.Web/sites/", StringComparison.OrdinalIgnoreCase) &&
        appId.Split('/', StringSplitOptions.RemoveEmptyEntries).Length == 8;
}

/// <summary>A failure the tool explains in one line (exit code 1).</summary>
public sealed class DeployException(string message) : Exception(message);
