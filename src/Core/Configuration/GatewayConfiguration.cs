using Microsoft.Extensions.Configuration;

namespace Gateway.Core.Configuration;

/// <summary>Reads <see cref="GatewayOptions"/> from configuration (catalog.json, then app settings over it).</summary>
public static class GatewayConfiguration
{
    public static GatewayOptions Load(IConfiguration configuration)
    {
        var options = new GatewayOptions();
        configuration.GetSection(GatewayOptions.SectionName).Bind(options);
        return options;
    }
}

/// <summary>Secrets are app settings (which, in Azure, may be Key Vault references resolved by the platform).</summary>
public sealed class ConfigurationSecretResolver(IConfiguration configuration) : ISecretResolver
{
    public string? Resolve(string settingName) => configuration[settingName];
}
