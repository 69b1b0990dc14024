namespace Gateway.Core.Configuration;

/// <summary>
/// The local development key (<see cref="GatewayOptions.DevKey"/>: a fixed, well-known gateway key created at startup)
/// exists for a developer's machine only. It is refused, at startup and naming why, wherever the app is not in the
/// Development environment: on Azure (<c>WEBSITE_INSTANCE_ID</c> is set on every App Service and Functions instance),
/// or when the environment (<c>AZURE_FUNCTIONS_ENVIRONMENT</c>, else <c>DOTNET_ENVIRONMENT</c>, else
/// <c>ASPNETCORE_ENVIRONMENT</c>) is anything but <c>Development</c> — unset counts as Production, as the Functions host
/// treats it. The key itself never appears in the message.
/// </summary>
public static class DevKeyPolicy
{
    private static readonly string[] EnvironmentSettings = ["AZURE_FUNCTIONS_ENVIRONMENT", "DOTNET_ENVIRONMENT", "ASPNETCORE_ENVIRONMENT"];

    /// <summary>True on a developer's machine: not on Azure, and the environment is <c>Development</c>.</summary>
    public static bool IsDevelopment(Func<string, string?> setting) => Refusal("development", setting) is null;

    /// <summary>Why the development key may not be used here; null when it may (or none is configured).</summary>
    /// <param name="setting">Reads a setting or environment variable by name.</param>
    public static string? Refusal(string? devKey, Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (string.IsNullOrEmpty(devKey)) return null;
        const string Remedy = "Remove the setting Gateway__DevKey and create keys with the admin API (POST /gateway/keys).";
        if (!string.IsNullOrEmpty(setting("WEBSITE_INSTANCE_ID")))
            return "The development key (setting Gateway__DevKey) is refused: the app is running on Azure (WEBSITE_INSTANCE_ID is set). " + Remedy;
        var (name, environment) = EnvironmentSettings
            .Select(n => (n, setting(n)))
            .FirstOrDefault(e => !string.IsNullOrWhiteSpace(e.Item2));
        if (environment is null)
            return "The development key (setting Gateway__DevKey) is refused: no environment is set (AZURE_FUNCTIONS_ENVIRONMENT), which counts as Production; "
                + "set AZURE_FUNCTIONS_ENVIRONMENT=Development on a developer's machine (func start does). " + Remedy;
        if (!string.Equals(environment.Trim(), "Development", StringComparison.OrdinalIgnoreCase))
            return $"The development key (setting Gateway__DevKey) is refused: the environment is '{environment.Trim()}' ({name}), not Development. " + Remedy;
        return null;
    }
}
