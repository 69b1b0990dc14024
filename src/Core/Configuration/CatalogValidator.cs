using System.Globalization;

namespace Gateway.Core.Configuration;

/// <summary>
/// Checks the whole catalog and reports every problem at once, each naming the setting path and
/// the deployment or model it concerns. Secrets are checked for presence only, never echoed.
/// </summary>
public static class CatalogValidator
{
    /// <summary>Where the catalog sits in the app's settings: the root of the paths in startup errors.</summary>
    public const string SettingsRoot = "Gateway:Catalog";

    /// <summary>
    /// Every problem of <paramref name="catalog"/>, each starting with its path under <paramref name="root"/> (the
    /// settings section at startup; empty for an uploaded document, whose paths then start at <c>Deployments</c> or <c>Models</c>).
    /// </summary>
    public static IReadOnlyList<string> Validate(CatalogOptions catalog, ISecretResolver secrets, string root = SettingsRoot)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(root);
        var prefix = root.Length == 0 ? "" : root + ":";
        var errors = new List<string>();
        var deploymentNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < catalog.Deployments.Count; i++)
        {
            var d = catalog.Deployments[i];
            var at = $"{prefix}Deployments:{I(i)}" + (string.IsNullOrWhiteSpace(d.Name) ? "" : $" ('{d.Name}')");
            if (string.IsNullOrWhiteSpace(d.Name)) errors.Add($"{at}:Name is required.");
            else if (!deploymentNames.Add(d.Name)) errors.Add($"{at}:Name '{d.Name}' is used by another deployment.");
            var provider = d.Provider?.ToLowerInvariant() ?? "";
            if (!ProviderKind.All.Contains(provider))
            {
                errors.Add($"{at}:Provider '{d.Provider}' is not known; use one of {string.Join(", ", ProviderKind.All)}.");
                continue;
            }
            if (provider != ProviderKind.Mock && string.IsNullOrWhiteSpace(d.Model)) errors.Add($"{at}:Model is required (the upstream model id, or the Azure OpenAI deployment name).");
            if (d.Endpoint is not null)
            {
                if (!Uri.TryCreate(d.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                    errors.Add($"{at}:Endpoint '{d.Endpoint}' is not an absolute http(s) URL.");
                // credentials go in ApiKeySetting (a setting's name), never in the catalog, which is shown and stored
                else if (uri.UserInfo.Length > 0)
                    errors.Add($"{at}:Endpoint carries a user name or password: name the setting that holds the key in ApiKeySetting instead.");
            }

            if (provider is ProviderKind.AzureOpenAi or ProviderKind.OpenAiCompatible && string.IsNullOrWhiteSpace(d.Endpoint))
                errors.Add($"{at}:Endpoint is required for provider '{provider}'.");
            if (provider == ProviderKind.AzureOpenAi && string.IsNullOrWhiteSpace(d.ApiVersion))
                errors.Add($"{at}:ApiVersion is required for provider 'azure-openai' (for example 2024-10-21).");
            var auth = d.Auth?.ToLowerInvariant();
            if (auth is not ("key" or "entra")) errors.Add($"{at}:Auth '{d.Auth}' must be 'key' or 'entra'.");
            else if (auth == "entra" && provider != ProviderKind.AzureOpenAi) errors.Add($"{at}:Auth 'entra' is only supported for provider 'azure-openai'.");
            var needsKey = provider is ProviderKind.OpenAi or ProviderKind.Anthropic || (provider == ProviderKind.AzureOpenAi && auth == "key");
            if (needsKey)
            {
                if (string.IsNullOrWhiteSpace(d.ApiKeySetting)) errors.Add($"{at}:ApiKeySetting is required: name the app setting that holds the {provider} key.");
                else
                {
                    var value = secrets.Resolve(d.ApiKeySetting);
                    if (string.IsNullOrEmpty(value)) errors.Add($"{at}:ApiKeySetting names the setting '{d.ApiKeySetting}', which is not set.");
                    else if (SecretReference.IsUnresolvedKeyVaultReference(value)) errors.Add($"{at}:ApiKeySetting names the setting '{d.ApiKeySetting}', which holds a Key Vault reference the platform did not resolve (check the app's identity has 'Key Vault Secrets User' on the vault).");
                }
            }
            else if (!string.IsNullOrWhiteSpace(d.ApiKeySetting) && string.IsNullOrEmpty(secrets.Resolve(d.ApiKeySetting)))
            {
                errors.Add($"{at}:ApiKeySetting names the setting '{d.ApiKeySetting}', which is not set.");
            }
            if (d.Weight < 1) errors.Add($"{at}:Weight must be at least 1 (was {I(d.Weight)}).");
            if (d.RequestsPerMinute is < 1) errors.Add($"{at}:RequestsPerMinute must be at least 1 when set.");
            if (d.TokensPerMinute is < 1) errors.Add($"{at}:TokensPerMinute must be at least 1 when set.");
            if (d.Priority < 0) errors.Add($"{at}:Priority must not be negative (was {I(d.Priority)}).");
            if (double.IsNaN(d.TimeoutSeconds) || d.TimeoutSeconds is <= 0 or > 3600) errors.Add($"{at}:TimeoutSeconds must be between 0 and 3600 (was {d.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)}).");
            if (double.IsNaN(d.StreamIdleTimeoutSeconds) || d.StreamIdleTimeoutSeconds < 0)
                errors.Add($"{at}:StreamIdleTimeoutSeconds must be 0 (off) or above (was {d.StreamIdleTimeoutSeconds.ToString(CultureInfo.InvariantCulture)}).");
            if (d.Continuation is { } mode && !Resilience.StreamContinuation.Modes.Contains(mode))
                errors.Add($"{at}:Continuation must be one of {string.Join(", ", Resilience.StreamContinuation.Modes)} (was '{mode}').");
            if (d.FirstTokenTimeoutSeconds is { } ft && (double.IsNaN(ft) || ft <= 0 || ft > d.TimeoutSeconds)) errors.Add($"{at}:FirstTokenTimeoutSeconds must be above 0 and at most TimeoutSeconds (was {ft.ToString(CultureInfo.InvariantCulture)}).");
            if (d.ConnectTimeoutSeconds is { } ct && (double.IsNaN(ct) || ct is <= 0 or > 120)) errors.Add($"{at}:ConnectTimeoutSeconds must be between 0 and 120 (was {ct.ToString(CultureInfo.InvariantCulture)}).");
            if (d.DefaultMaxTokens < 1) errors.Add($"{at}:DefaultMaxTokens must be at least 1.");
            if (d.MockLatencyMs < 0 || d.MockChunkDelayMs < 0 || d.MockCompletionTokens < 1) errors.Add($"{at}: mock latency and delay must not be negative and MockCompletionTokens must be at least 1.");
            ValidatePricing(d.Pricing, $"{at}:Pricing", errors);
        }

        var publicNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var modelNames = new HashSet<string>(catalog.Models.Select(m => m.Name), StringComparer.Ordinal);
        if (catalog.Models.Count == 0) errors.Add($"{prefix}Models is empty: configure at least one model (the shipped catalog.json has the offline 'mock-1').");
        for (var i = 0; i < catalog.Models.Count; i++)
        {
            var m = catalog.Models[i];
            var at = $"{prefix}Models:{I(i)}" + (string.IsNullOrWhiteSpace(m.Name) ? "" : $" ('{m.Name}')");
            if (string.IsNullOrWhiteSpace(m.Name)) errors.Add($"{at}:Name is required.");
            if (!Routing.LoadBalancing.All.Contains(m.LoadBalancing.ToLowerInvariant()))
                errors.Add($"{at}:LoadBalancing '{m.LoadBalancing}' is not known; use one of {string.Join(", ", Routing.LoadBalancing.All)}.");
            foreach (var name in m.Aliases.Prepend(m.Name).Where(n => !string.IsNullOrWhiteSpace(n)))
            {
                if (publicNames.TryGetValue(name, out var owner)) errors.Add($"{at}: the name '{name}' is already used by model '{owner}'.");
                else publicNames[name] = m.Name;
            }
            if (m.Deployments.Count == 0) errors.Add($"{at}:Deployments is empty: name at least one deployment.");
            foreach (var dep in m.Deployments.Where(dep => !deploymentNames.Contains(dep)))
                errors.Add($"{at}:Deployments names '{dep}', which is not a configured deployment.");
            foreach (var fb in m.Fallbacks)
            {
                if (!modelNames.Contains(fb)) errors.Add($"{at}:Fallbacks names '{fb}', which is not a configured model.");
                else if (fb == m.Name) errors.Add($"{at}:Fallbacks names the model itself.");
            }
        }
        return errors;
    }

    private static string I(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static void ValidatePricing(DeploymentPricingOptions pricing, string at, List<string> errors)
    {
        if (pricing.Free && (pricing.PriceAs is not null || pricing.HasExplicitPrices))
            errors.Add($"{at}:Free is true but the deployment also has PriceAs or prices: a deployment is either free or priced.");
        foreach (var (name, value) in new[] { ("Input", pricing.Input), ("Output", pricing.Output), ("CachedInput", pricing.CachedInput), ("CacheWrite5m", pricing.CacheWrite5m), ("CacheWrite1h", pricing.CacheWrite1h) })
        {
            if (value < 0) errors.Add($"{at}:{name} must not be negative (USD per million tokens).");
        }

        if (pricing.Discount is < 0 or >= 1) errors.Add($"{at}:Discount must be at least 0 and below 1 (0.15 is 15% off).");
        long previous = -1;
        for (var i = 0; i < pricing.VolumeTiers.Count; i++)
        {
            var tier = pricing.VolumeTiers[i];
            if (tier.FromMonthlyTokens <= previous) errors.Add($"{at}:VolumeTiers:{i}:FromMonthlyTokens must be above the previous tier's (tiers ascend).");
            if (tier.Discount is < 0 or >= 1) errors.Add($"{at}:VolumeTiers:{i}:Discount must be at least 0 and below 1.");
            previous = tier.FromMonthlyTokens;
        }
    }
}
