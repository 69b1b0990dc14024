using System.Net;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pricing;
using Gateway.Core.Providers;
using Gateway.Core.Usage;
using Gateway.Core.RateLimits;
using Gateway.Functions.Budgets;
using Gateway.Functions.RateLimits;
using Gateway.Functions.Upstream;
using Gateway.Core.Routing;
using Gateway.Core.Telemetry;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using Gateway.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions;

/// <summary>Wires the gateway into the Functions worker: settings, storage, HTTP clients and the runtime.</summary>
public static class GatewayServiceCollectionExtensions
{
    public const string UpstreamClient = "upstream";
    public const string KeysTable = "gatewaykeys";

    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        var options = GatewayConfiguration.Load(configuration);
        var secrets = new ConfigurationSecretResolver(configuration);
        // Fail at startup, naming every bad setting, rather than on the first request.
        _ = ModelCatalog.Create(options.Catalog, secrets);

        services.AddSingleton(options);
        services.AddSingleton<ISecretResolver>(secrets);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => StorageConnection.FromConfiguration(configuration));
        services.AddSingleton<IKeyStore>(sp => new TableKeyStore(sp.GetRequiredService<StorageConnection>().Table(KeysTable)));
        services.AddSingleton<IAccessTokenSource, AzureIdentityTokenSource>();
        services.AddHttpClient(UpstreamClient, client => UpstreamHttp.Configure(client))
            .ConfigurePrimaryHttpMessageHandler(() => UpstreamHttp.CreateHandler(options.Http))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton(sp => new UsageServices(sp.GetRequiredService<StorageConnection>(), options, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(_ => new PriceCatalogHolder(PriceCatalog.Default));
        services.AddSingleton(sp => new PriceCatalogSync(sp.GetRequiredService<PriceCatalogHolder>(),
            new BlobPriceCatalogStore(sp.GetRequiredService<StorageConnection>().Blob(options.Pricing.CatalogBlob))));
        services.AddSingleton(sp => new PricingAdministration(sp.GetRequiredService<PriceCatalogSync>()));
        services.AddHttpClient(BudgetAlertFunctions.WebhookClient, client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton(sp => new DurableBudgetBackend(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IBudgetAlertSink>(sp => new QueueBudgetAlertSink(
            sp.GetRequiredService<StorageConnection>().Queue(BudgetAlertFunctions.AlertQueue), sp.GetRequiredService<StorageConnection>().Queue(BudgetAlertFunctions.WebhookQueue)));
        services.AddSingleton(sp => new BudgetGate(sp.GetRequiredService<DurableBudgetBackend>(), sp.GetRequiredService<TimeProvider>(), options.Budgets,
            sp.GetRequiredService<IBudgetAlertSink>()));
        services.AddSingleton(sp => new BudgetAdministration(sp.GetRequiredService<BudgetGate>()));
        services.AddSingleton<DurableRateLimitBackend>();
        services.AddSingleton<DurableUpstreamBackend>();
        services.AddSingleton(sp => new UpstreamGate(sp.GetRequiredService<DurableUpstreamBackend>(), sp.GetRequiredService<TimeProvider>(), options.Upstream));
        services.AddSingleton(sp => new StopAdministration(sp.GetRequiredService<UpstreamGate>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new RateLimitGate(sp.GetRequiredService<DurableRateLimitBackend>(), sp.GetRequiredService<TimeProvider>(), options.RateLimits));
        // Metrics: the gateway's meter, exported to Azure Monitor when Application Insights is configured.
        services.AddSingleton(sp => new GatewayMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(GatewayMetrics.MeterName);
            if (configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] is { Length: > 0 } connection)
                metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = connection);
        });
        services.AddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new GatewayRuntime(options, secrets, sp.GetRequiredService<IKeyStore>(), _ => factory.CreateClient(UpstreamClient),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IAccessTokenSource>(),
                usage: sp.GetRequiredService<UsageServices>().Sink, prices: sp.GetRequiredService<PriceCatalogHolder>(),
                budgets: sp.GetRequiredService<BudgetGate>(), rateLimits: sp.GetRequiredService<RateLimitGate>(),
                upstream: sp.GetRequiredService<UpstreamGate>(), metrics: sp.GetRequiredService<GatewayMetrics>());
        });
        services.AddSingleton<ICurrencyRates>(sp => sp.GetRequiredService<GatewayRuntime>().Currencies);
        services.AddHostedService<PriceCatalogRefresher>();
        services.AddHostedService<DevKeyBootstrapper>();
        return services;
    }
}
