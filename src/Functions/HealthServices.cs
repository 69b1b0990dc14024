using Gateway.Core.Configuration;
using Gateway.Core.Entities;
using Gateway.Core.Health;
using Gateway.Core.Hosting;
using Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>Wires the readiness probe: the storage checks on the app's connection, the Durable entity store, the runtime's breakers.</summary>
public static partial class HealthServices
{
    public static IServiceCollection AddHealth(this IServiceCollection services, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        StartupSettings.Demand("health", options.Health.Validate());
        services.AddSingleton(sp =>
        {
            var runtime = sp.GetRequiredService<GatewayRuntime>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Health");
            // what every request needs: the key table, the usage queue, the configuration container (pricing, safety)
            var container = options.Pricing.CatalogBlob[..Math.Max(0, options.Pricing.CatalogBlob.IndexOf('/', StringComparison.Ordinal))];
            IHealthCheck[] checks =
            [
                .. StorageHealthChecks.Create(sp.GetRequiredService<StorageConnection>(), GatewayServiceCollectionExtensions.KeysTable, UsageServices.Queue, container,
                    TimeSpan.FromSeconds(options.Health.CheckTimeoutSeconds)),
                new EntityBackendCheck(sp.GetRequiredService<IEntityChannel>()),
            ];
            return new ReadinessProbe(checks, () => DeploymentHealth.Of(runtime.Catalog, runtime.Breakers), options.Health, sp.GetRequiredService<TimeProvider>(),
                (status, results) => Log.ReadinessChanged(logger, HealthJson.Name(status),
                    string.Join("; ", results.Where(r => r.Status != HealthStatus.Healthy).Select(r => r.Name + ": " + r.Detail)) is { Length: > 0 } failing ? failing : "none"));
        });
        return services;
    }

    private static partial class Log
    {
        [LoggerMessage(9101, LogLevel.Warning, "Readiness is now {Status}. Failing checks: {Failing}")]
        public static partial void ReadinessChanged(ILogger logger, string status, string failing);
    }
}
