using Gateway.Core.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.FeatureManagement;

namespace Gateway.Functions;

/// <summary>
/// Reads the gateway's feature flags once, at startup, with Microsoft.FeatureManagement: the <c>FeatureManagement</c>
/// section (.NET schema: <c>FeatureManagement__Cache=false</c> as an app setting) and the <c>feature_management</c>
/// section (Microsoft schema, where Azure App Configuration's provider puts its feature flags:
/// <c>feature_management:feature_flags:0:id=Cache</c>, <c>…:enabled=false</c>). A flag not given is on. A flag whose
/// name is not one of <see cref="GatewayFeatures.Names"/> stops startup listing the known names, so a typo never
/// silently leaves a capability on; so does a flag that depends on filters (a capability is on or off for the whole app).
/// A change takes effect when the app restarts.
/// </summary>
public static class FeatureFlags
{
    public static GatewayFeatures Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        using var definitions = new ConfigurationFeatureDefinitionProvider(configuration);
        // no feature filters are registered: a flag that needs one cannot be evaluated, and that is an error here
        var manager = new FeatureManager(definitions, new FeatureManagementOptions { IgnoreMissingFeatureFilters = false });
        // startup is synchronous (the service registrations); the configuration provider answers without I/O
        return ReadAsync(definitions, manager).AsTask().GetAwaiter().GetResult();
    }

    private static async ValueTask<GatewayFeatures> ReadAsync(ConfigurationFeatureDefinitionProvider definitions, FeatureManager manager)
    {
        var problems = new List<string>();
        var features = GatewayFeatures.All;
        try
        {
            await foreach (var definition in definitions.GetAllFeatureDefinitionsAsync().ConfigureAwait(false))
            {
                if (GatewayFeatures.Parse(definition.Name) is not { } feature)
                {
                    problems.Add($"'{definition.Name}' is not a feature flag of the gateway. The flags are: {string.Join(", ", GatewayFeatures.Names)}.");
                    continue;
                }

                if (definition.EnabledFor?.Any(f => !IsAlwaysOn(f.Name)) == true)
                {
                    problems.Add($"'{definition.Name}' uses feature filters ({string.Join(", ", definition.EnabledFor.Select(f => f.Name))}): a gateway flag is true or false for the whole app.");
                    continue;
                }

                features = features.With(feature, await manager.IsEnabledAsync(definition.Name).ConfigureAwait(false));
            }
        }
        catch (FeatureManagementException ex)
        {
            problems.Add(ex.Message);
        }

        StartupSettings.Demand("feature flags (FeatureManagement / feature_management)", problems);
        return features;
    }

    private static bool IsAlwaysOn(string? filter) =>
        string.Equals(filter, "AlwaysOn", StringComparison.OrdinalIgnoreCase) || string.Equals(filter, "Microsoft.AlwaysOn", StringComparison.OrdinalIgnoreCase);
}
