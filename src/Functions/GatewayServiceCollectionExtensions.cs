using System.Net;
using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Dashboard;
using Gateway.Core.Hosting;
using Gateway.Core.Pricing;
using Gateway.Core.Privacy;
using Gateway.Core.Providers;
using Gateway.Core.Usage;
using Gateway.Core.RateLimits;
using Gateway.Core.Entities;
using Gateway.Functions.Budgets;
using Gateway.Functions.Entities;
using Gateway.Core.Routing;
using Gateway.Core.Safety;
using Gateway.Core.Telemetry;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using Gateway.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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
        _ = ModelCatalog.Create(options.Catalog, secrets, PriceCatalog.Default, TimeProvider.System.GetUtcNow());
        if (DevKeyPolicy.Refusal(options.DevKey, name => configuration[name]) is { } devKeyRefused) throw new InvalidOperationException(devKeyRefused);
        _ = SafetyPolicies.Load(options.Safety);
        var pepper = PrivacyPepper.Resolve(options.Privacy.Pepper, name => configuration[name]);
        _ = new UserPseudonyms(options.Privacy, pepper.Hasher);
        StartupSettings.Demand("gateway, privacy, audit and dashboard",
            options.Validate().Concat(options.Privacy.ContentLogging.Validate()).Concat(options.Audit.Validate()).Concat(options.Dashboard.Validate()));
        StartupSettings.Demand("savings", options.Savings.Validate());
        StartupSettings.Demand("cache", CacheOptionsValidator.Validate(options.Cache));
        // read once: a change takes a restart
        var features = FeatureFlags.Read(configuration);
        // the audit batcher belongs to AuditServices (which stops it): asked for directly, not through a registration the container would own
        IAuditSink AuditSink(IServiceProvider sp) => features.Audit ? sp.GetRequiredService<AuditServices>().Batcher : NullAuditSink.Instance;

        services.AddSingleton(options);
        services.AddSingleton(features);
        // a slow reader holds at most this much of its response in the worker (see GatewayOptions.StreamBufferBytes): the
        // socket transport's output pipe is where an HTTP/1.1 response waits; the server's limit covers its other pipes
        services.Configure<SocketTransportOptions>(sockets => sockets.MaxWriteBufferSize = options.StreamBufferBytes);
        services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxResponseBufferSize = options.StreamBufferBytes);
        services.AddSingleton<ISecretResolver>(secrets);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => StorageConnection.FromConfiguration(configuration));
        services.AddSingleton<IKeyStore>(sp => new TableKeyStore(sp.GetRequiredService<StorageConnection>().Table(KeysTable)));
        services.AddSingleton<IAccessTokenSource, AzureIdentityTokenSource>();
        services.AddHttpClient(UpstreamClient, client => UpstreamHttp.Configure(client))
            .ConfigurePrimaryHttpMessageHandler(() => UpstreamHttp.CreateHandler(options.Http))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton(sp => new UsageServices(sp.GetRequiredService<StorageConnection>(), options, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<GatewayMetrics>()));
        services.AddSingleton(sp => new AuditServices(sp.GetRequiredService<StorageConnection>(), options, sp.GetRequiredService<TimeProvider>(),
            () => sp.GetRequiredService<IHttpClientFactory>().CreateClient(UpstreamClient), sp.GetRequiredService<IAccessTokenSource>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<GatewayMetrics>()));
        // a replacement pricing catalog must price every deployment of the model catalog in force (asked when one is installed)
        services.AddSingleton(sp => new PriceCatalogHolder(PriceCatalog.Default, () => sp.GetRequiredService<GatewayRuntime>().Catalog.Deployments,
            sp.GetRequiredService<TimeProvider>()));
        // the pricing catalog, the model catalog and the safety policies are replaced at runtime: stored in a blob, installed by every instance
        services.AddSingleton(sp => new PricingAdministration(sp.GetRequiredService<PriceCatalogHolder>(), new DocumentSync(
            sp.GetRequiredService<PriceCatalogHolder>(), new BlobDocumentStore(sp.GetRequiredService<StorageConnection>().Blob(options.Pricing.CatalogBlob)))));
        services.AddSingleton(sp => new CatalogAdministration(sp.GetRequiredService<GatewayRuntime>().Catalogs, new DocumentSync(
            sp.GetRequiredService<GatewayRuntime>().Catalogs, new BlobDocumentStore(sp.GetRequiredService<StorageConnection>().Blob(options.CatalogBlob)))));
        services.AddSingleton(sp => new SafetyAdministration(sp.GetRequiredService<GatewayRuntime>().Safety, new DocumentSync(
            sp.GetRequiredService<GatewayRuntime>().Safety, new BlobDocumentStore(sp.GetRequiredService<StorageConnection>().Blob(options.Safety.PolicyBlob)))));
        services.AddHttpClient(BudgetAlertFunctions.WebhookClient, client => client.Timeout = TimeSpan.FromSeconds(10));
        // budgets, rate-limit counters, provider quotas and stops are Durable Entities, reached by signals and reads
        var instanceId = options.Budgets.InstanceId ??= $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";
        services.AddSingleton<DurableEntityChannel>();
        services.AddSingleton<IEntityChannel>(sp => sp.GetRequiredService<DurableEntityChannel>());
        services.AddSingleton<IBudgetAlertSink>(sp => new MeteredBudgetAlertSink(new BudgetAlertAudit(new QueueBudgetAlertSink(
            sp.GetRequiredService<StorageConnection>().Queue(BudgetAlertFunctions.AlertQueue), sp.GetRequiredService<StorageConnection>().Queue(BudgetAlertFunctions.WebhookQueue)),
            AuditSink(sp)), sp.GetRequiredService<GatewayMetrics>()));
        services.AddSingleton(sp => new BudgetGate(sp.GetRequiredService<IEntityChannel>(), sp.GetRequiredService<TimeProvider>(), options.Budgets,
            sp.GetRequiredService<IBudgetAlertSink>(), new QueueBudgetReportSpill(sp.GetRequiredService<StorageConnection>().Queue(BudgetReportFunctions.Queue))));
        services.AddSingleton(sp => new BudgetAdministration(sp.GetRequiredService<BudgetGate>()));
        services.AddSingleton(sp => new UpstreamGate(sp.GetRequiredService<IEntityChannel>(), sp.GetRequiredService<TimeProvider>(), options.Upstream, instanceId));
        services.AddSingleton(sp => new StopAdministration(sp.GetRequiredService<UpstreamGate>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new RateLimitGate(sp.GetRequiredService<IEntityChannel>(), sp.GetRequiredService<TimeProvider>(), options.RateLimits, instanceId));
        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.AfterResponse");
            return new AfterResponseWork(ex => logger.LogError(ex, "After-response work failed."));
        });
        // Metrics: the gateway's meter, exported to Azure Monitor when Application Insights is configured.
        services.AddSingleton(sp => new GatewayMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(GatewayMetrics.MeterName);
            if (configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] is { Length: > 0 } connection)
            {
                // Entra ID authentication as the host does it (the Bicep template's component accepts nothing else)
                var (entra, clientId) = ApplicationInsightsAuthentication.Parse(configuration[ApplicationInsightsAuthentication.Setting]);
                metrics.AddAzureMonitorMetricExporter(o =>
                {
                    o.ConnectionString = connection;
                    if (entra)
                        o.Credential = clientId is null ? new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.SystemAssigned)
                            : new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(clientId));
                });
            }
        });
        // cache off: no shared store is registered or connected to (and no Redis connection string is needed)
        if (features.Cache) AddSharedCache(services, configuration, options.Cache);
        services.AddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            if (pepper.Warning is { } warning) sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Privacy").LogWarning("{Warning}", warning);
            if (features.Off.Count > 0)
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Features").LogWarning("Feature flags: {Off} off (read at startup; a change takes a restart). {Features}.",
                    string.Join(", ", features.Off), features);
            return new GatewayRuntime(options, secrets, sp.GetRequiredService<IKeyStore>(), _ => factory.CreateClient(UpstreamClient),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IAccessTokenSource>(),
                usage: sp.GetRequiredService<UsageServices>().Sink, prices: sp.GetRequiredService<PriceCatalogHolder>(),
                budgets: sp.GetRequiredService<BudgetGate>(), rateLimits: sp.GetRequiredService<RateLimitGate>(),
                upstream: sp.GetRequiredService<UpstreamGate>(), cache: sp.GetService<ICacheStore>(), metrics: sp.GetRequiredService<GatewayMetrics>(),
                loggers: sp.GetRequiredService<ILoggerFactory>(), audit: AuditSink(sp), subjects: pepper.Hasher,
                contentLog: sp.GetRequiredService<UsageServices>().ContentBatcher, features: features);
        });
        // audit off: no event goes anywhere (admin changes, refusals, safety decisions, budget alerts, user data requests)
        services.AddSingleton<IAuditSink>(AuditSink);
        services.AddSingleton<IAuditSubjectSearch>(sp => new AuditSubjectSearch(sp.GetRequiredService<AuditServices>()));
        services.AddSingleton(sp =>
        {
            var runtime = sp.GetRequiredService<GatewayRuntime>();
            var usage = sp.GetRequiredService<UsageServices>();
            return new UserDataService(usage.Records, usage.Rollups, runtime.Cache, options.Cache, sp.GetRequiredService<IAuditSink>(), runtime.Subjects,
                sp.GetRequiredService<TimeProvider>(), sp.GetService<IAuditSubjectSearch>(), usage.Content);
        });
        services.AddSingleton<ICurrencyRates>(sp => sp.GetRequiredService<GatewayRuntime>().Currencies);
        services.AddAnalytics(options, features);
        services.AddReports(options);
        services.AddHealth(options);
        services.AddSingleton<IHostedService>(sp => new DocumentRefresher(sp.GetRequiredService<PricingAdministration>().Sync,
            TimeSpan.FromSeconds(options.Pricing.CatalogRefreshSeconds), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DocumentRefresher>>()));
        services.AddSingleton<IHostedService>(sp => new DocumentRefresher(sp.GetRequiredService<CatalogAdministration>().Sync,
            TimeSpan.FromSeconds(options.CatalogRefreshSeconds), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DocumentRefresher>>()));
        // safety off: the policy document is neither read nor followed
        if (features.Safety)
            services.AddSingleton<IHostedService>(sp => new DocumentRefresher(sp.GetRequiredService<SafetyAdministration>().Sync,
                TimeSpan.FromSeconds(options.Safety.PolicyRefreshSeconds), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DocumentRefresher>>()));
        // dashboard sign-in: sessions signed with Gateway:Dashboard:SessionKey (generated at start in Development when unset)
        var development = DevKeyPolicy.IsDevelopment(name => configuration[name]);
        services.AddSingleton(sp =>
        {
            var dashboard = DashboardSessions.Create(options.Dashboard, options.AdminKey, development, sp.GetRequiredService<TimeProvider>());
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Dashboard");
            if (dashboard.Warning is { } warning) logger.LogWarning("{Warning}", warning);
            else if (dashboard.Disabled is { } disabled && !string.IsNullOrEmpty(options.AdminKey)) logger.LogWarning("{Disabled}", disabled);
            return dashboard;
        });
        services.AddSingleton<Dashboard.DashboardAssets>();
        services.AddHostedService<GatewayLifetime>();
        services.AddHostedService<DevKeyBootstrapper>();
        return services;
    }

    /// <summary>
    /// The response cache's store by <c>Gateway:Cache:Backend</c>: <c>memory</c> registers none (the runtime keeps its
    /// own in-memory store); <c>storage</c> and <c>redis</c> register the shared store behind this instance's local copy.
    /// A missing or unparsable Redis connection string stops startup, naming the setting and never its value.
    /// </summary>
    private static void AddSharedCache(IServiceCollection services, IConfiguration configuration, CacheOptions cache)
    {
        var localCopy = TimeSpan.FromSeconds(cache.LocalCopySeconds);
        ICacheStore Tiered(IServiceProvider sp, ICacheStore shared) => new TieredCacheStore(shared, sp.GetRequiredService<TimeProvider>(), localCopy,
            cache.MaxEntries, sp.GetService<ILoggerFactory>()?.CreateLogger<TieredCacheStore>());

        switch (CacheBackends.Normalize(cache.Backend))
        {
            case CacheBackends.Storage:
                // A lookup must not hold a request up for long: few retries, a short network timeout.
                var blobOptions = new Azure.Storage.Blobs.BlobClientOptions();
                blobOptions.Retry.MaxRetries = 2;
                blobOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
                services.AddSingleton(sp => new BlobCacheStore(sp.GetRequiredService<StorageConnection>().BlobContainer(cache.StorageContainer, blobOptions),
                    sp.GetRequiredService<TimeProvider>()));
                services.AddSingleton(sp => Tiered(sp, sp.GetRequiredService<BlobCacheStore>()));
                break;
            case CacheBackends.Redis:
                var setting = cache.RedisConnectionSetting;
                // app settings arrive as environment variables, where '__' reads as ':' (Gateway__Cache__RedisConnection is Gateway:Cache:RedisConnection)
                var connection = configuration[setting] ?? configuration[setting.Replace("__", ":", StringComparison.Ordinal)];
                if (string.IsNullOrWhiteSpace(connection))
                    throw new InvalidOperationException($"Gateway:Cache:Backend is 'redis' but the setting '{setting}' (named by Gateway:Cache:RedisConnectionSetting) holding the Redis connection string is not set.");
                if (SecretReference.IsUnresolvedKeyVaultReference(connection))
                    throw new InvalidOperationException($"The setting '{setting}' (the Redis connection string) holds a Key Vault reference the platform did not resolve (check the app's identity has 'Key Vault Secrets User' on the vault).");
                RedisCacheStore redis;
                try
                {
                    redis = new RedisCacheStore(connection);
                }
                catch (ArgumentException)
                {
                    // the parser's message may quote the connection string: leave it out
                    throw new InvalidOperationException($"The setting '{setting}' does not hold a valid Redis connection string (host:port,password=...,ssl=true).");
                }

                services.AddSingleton(_ => redis);
                services.AddSingleton(sp => Tiered(sp, sp.GetRequiredService<RedisCacheStore>()));
                break;
        }
    }
}
