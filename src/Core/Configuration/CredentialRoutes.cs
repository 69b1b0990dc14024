namespace Gateway.Core.Configuration;

/// <summary>
/// Where the configured catalog sends each credential — a key setting, or the app's Entra ID token — as the origins
/// (scheme, host, port) of the endpoints that use it. A catalog replaced at runtime may send a credential only to an
/// origin the configured catalog already sends it to: the admin API must not be a way to send a provider key, or any
/// other setting, to a server of the caller's choosing. Credential-free deployments (mock, an unauthenticated
/// OpenAI-compatible server) may point anywhere.
/// </summary>
public sealed class CredentialRoutes
{
    private const string Entra = "Entra ID token";
    private readonly Dictionary<string, HashSet<string>> _origins = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The routes of the configured catalog.</summary>
    public CredentialRoutes(CatalogOptions configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        foreach (var d in configured.Deployments)
        {
            if (Credential(d) is not { } credential || Origin(d) is not { } origin) continue;
            if (!_origins.TryGetValue(credential, out var origins)) _origins[credential] = origins = new(StringComparer.OrdinalIgnoreCase);
            origins.Add(origin);
        }
    }

    /// <summary>Every deployment of <paramref name="replacement"/> that would send a credential where the configured catalog does not, with its path.</summary>
    public IReadOnlyList<string> Check(CatalogOptions replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var errors = new List<string>();
        for (var i = 0; i < replacement.Deployments.Count; i++)
        {
            var d = replacement.Deployments[i];
            if (Credential(d) is not { } credential || Origin(d) is not { } origin) continue;
            var at = $"Deployments:{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}" + (string.IsNullOrWhiteSpace(d.Name) ? "" : $" ('{d.Name}')");
            var what = credential == Entra ? "the app's Entra ID token" : $"the key in setting '{d.ApiKeySetting}'";
            if (!_origins.TryGetValue(credential, out var allowed))
                errors.Add(credential == Entra
                    ? $"{at}:Auth 'entra': the configured catalog sends the app's Entra ID token nowhere, so a replacement cannot either (configure the deployment in the app settings)."
                    : $"{at}:ApiKeySetting '{d.ApiKeySetting}' is not a key setting of the configured catalog: a replacement may use only those (add a deployment with it to the app settings' catalog first).");
            else if (!allowed.Contains(origin))
                errors.Add($"{at}:Endpoint: the configured catalog sends {what} only to {string.Join(", ", allowed.Order(StringComparer.Ordinal))}; a replacement cannot send it to {origin}.");
        }

        return errors;
    }

    private static string? Credential(DeploymentOptions d)
    {
        // the offline provider calls nothing
        if (string.Equals(d.Provider, ProviderKind.Mock, StringComparison.OrdinalIgnoreCase)) return null;
        if (!string.IsNullOrWhiteSpace(d.ApiKeySetting)) return "key:" + d.ApiKeySetting;
        return string.Equals(d.Provider, ProviderKind.AzureOpenAi, StringComparison.OrdinalIgnoreCase) && string.Equals(d.Auth, "entra", StringComparison.OrdinalIgnoreCase)
            ? Entra : null;
    }

    /// <summary>The origin a deployment's calls go to (the provider's default endpoint when none is given); null when unknown.</summary>
    private static string? Origin(DeploymentOptions d)
    {
        var endpoint = d.Endpoint ?? (d.Provider?.ToLowerInvariant() switch
        {
            ProviderKind.OpenAi => "https://api.openai.com/v1",
            ProviderKind.Anthropic => "https://api.anthropic.com",
            _ => null,
        });
        return endpoint is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? $"{uri.Scheme}://{uri.Host}:{uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}".ToLowerInvariant()
            : null;
    }
}
