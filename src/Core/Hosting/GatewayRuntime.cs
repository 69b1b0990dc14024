using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Entities;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Pricing;
using Gateway.Core.Providers;
using Gateway.Core.RateLimits;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;
using Gateway.Core.Safety;
using Gateway.Core.Telemetry;
using Gateway.Core.Usage;

namespace Gateway.Core.Hosting;

/// <summary>
/// The gateway assembled from its settings: the validated catalog, authentication, providers and the
/// request pipeline, with its stages in order. The Functions app, the tests and the benchmarks all build
/// the gateway through this one place.
/// </summary>
public sealed class GatewayRuntime
{
    public GatewayRuntime(GatewayOptions options, ISecretResolver secrets, IKeyStore keys, Func<DeploymentOptions, HttpClient> httpClients,
        TimeProvider time, IAccessTokenSource? tokens = null, DeploymentSelector? selector = null,
        IUsageSink? usage = null, PriceCatalogHolder? prices = null, IVolumeTracker? volume = null, BudgetGate? budgets = null,
        RateLimitGate? rateLimits = null, UpstreamGate? upstream = null, ICacheStore? cache = null, GatewayMetrics? metrics = null,
        Microsoft.Extensions.Logging.ILoggerFactory? loggers = null, IAuditSink? audit = null, SubjectHasher? subjects = null,
        Privacy.IContentLogSink? contentLog = null, GatewayFeatures? features = null)
    {
        Options = options;
        Features = features ??= GatewayFeatures.All;
        Time = time;
        // a replacement pricing catalog must price the deployments of the model catalog in force, and the other way round
        // (asked only when a replacement is installed, after this constructor has set Catalogs)
        Prices = prices ?? new PriceCatalogHolder(PriceCatalog.Default, () => Catalogs!.Current.Deployments, time);
        Catalogs = new ModelCatalogHolder(options.Catalog, secrets, Prices, time);
        KeyAuthenticator = new KeyAuthenticator(keys, options, time);
        Keys = new KeyAdministration(keys, KeyAuthenticator, Catalogs, time);
        Admin = new AdminAuthenticator(options);
        Providers = new ProviderRegistry(httpClients, secrets, time, tokens);
        Volume = volume ?? new InMemoryVolumeTracker();
        CostMeter = new PricingCostMeter(Prices, Volume);
        Currencies = new CurrencyConverter(options.Pricing.Currencies);
        Metrics = metrics ?? new GatewayMetrics();
        // audit off: nothing is recorded, whatever sink was given
        Audit = features.Audit ? audit ?? NullAuditSink.Instance : NullAuditSink.Instance;
        AdminAudit = new AdminAudit(Audit, time);
        RefusedAuthentication = new RefusedAuthentication(Audit, time, options.Audit.MaxRefusalSourcesPerMinute, Environment.MachineName + "-" + Environment.ProcessId);
        UsageSink = new MeteredUsageSink(new SafetyDecisionAudit(usage ?? NullUsageSink.Instance, Audit, subjects), Metrics);
        // without a shared store (tests, benchmarks, a single instance) the entities live in this process
        var local = budgets is null || rateLimits is null || upstream is null ? LocalEntities.Create(time) : null;
        Budgets = budgets ?? new BudgetGate(local!, time, options.Budgets);
        RateLimits = rateLimits ?? new RateLimitGate(local!, time, options.RateLimits);
        Upstream = upstream ?? new UpstreamGate(local!, time, options.Upstream);
        Breakers = new DeploymentBreakers(options.Resilience, time, Metrics.Record);
        Metrics.ObserveBreakers(Breakers);
        Cache = cache ?? new InMemoryCacheStore(time, options.Cache.MaxEntries);
        Subjects = subjects;
        Pseudonyms = new Privacy.UserPseudonyms(options.Privacy, subjects);
        Safety = new SafetyPoliciesHolder(options.Safety);
        ContentSafetyClient? contentSafety = null;
        // with an endpoint configured (and the safety stage present) the client is ready for any policy, including one installed at runtime
        if (features.Safety && !string.IsNullOrWhiteSpace(options.Safety.ContentSafety.Endpoint))
        {
            var cs = options.Safety.ContentSafety;
            var key = cs.Auth == "key" ? secrets.Resolve(cs.ApiKeySetting!) : null;
            if (cs.Auth == "key" && string.IsNullOrEmpty(key))
                throw new InvalidOperationException($"The safety settings are invalid:{Environment.NewLine}  - Gateway:Safety:ContentSafety:ApiKeySetting names the setting '{cs.ApiKeySetting}', which is not set.");
            // the content-safety calls share the upstream connection pool
            var http = httpClients(new DeploymentOptions { Name = "content-safety", Provider = ProviderKind.OpenAiCompatible, Endpoint = cs.Endpoint });
            contentSafety = new ContentSafetyClient(http, cs, key, tokens, Metrics, loggers?.CreateLogger("Gateway.Safety"));
        }
        // A capability switched off by its feature flag is absent from the pipeline (null here), not skipped at run time.
        IGatewayStage?[] stages =
        [
            new AuthenticationStage(KeyAuthenticator, RefusedAuthentication),
            new UsageStage(UsageSink, CostMeter, options, Pseudonyms),
            new RequestParsingStage(options),
            // only where some key or team logs content: otherwise the stage is not there at all
            contentLog is not null && options.Privacy.LogsContent ? new Privacy.ContentLogStage(contentLog, options.Privacy.ContentLogging, Pseudonyms) : null,
            new ModelResolutionStage(Catalogs),
            features.ProviderQuotas ? new StopStage(Upstream) : null,
            features.RateLimits ? new RateLimitEarlyRefusalStage(RateLimits) : null,
            // present even without a policy: one may be installed at runtime (a request without one passes straight on)
            features.Safety ? new SafetyStage(Safety, contentSafety) : null,
            new CostEstimateStage(CostMeter),
            features.RateLimits ? new RateLimitStage(RateLimits, options.RateLimits) : null,
            features.Budgets ? new BudgetStage(Budgets) : null,
            // coalescing is part of the cache stage: off, each miss calls upstream itself
            features.Cache ? new CacheStage(Cache, options.Cache, coalesce: features.Coalescing) : null,
            // provider quotas off: no quota admission, no stop list
            new ProviderStage(selector ?? new DeploymentSelector(), Providers, features.ProviderQuotas ? Upstream : null, options.RateLimits.DefaultOutputTokens, Breakers, options.Resilience),
        ];
        Pipeline = new GatewayPipeline([.. stages.OfType<IGatewayStage>()]);
        ChatCompletions = new ChatCompletionService(Pipeline);
    }

    public GatewayOptions Options { get; }
    /// <summary>The capabilities switched on (decided at startup): one switched off has no stage in <see cref="Pipeline"/>.</summary>
    public GatewayFeatures Features { get; }
    /// <summary>The safety policies in force by level (global, team, key), replaceable at runtime.</summary>
    public SafetyPoliciesHolder Safety { get; }
    public TimeProvider Time { get; }
    /// <summary>The model catalog in force, replaceable at runtime (validated against the prices in force, and they against it).</summary>
    public ModelCatalogHolder Catalogs { get; }
    /// <summary>The model catalog in force now (a request keeps the one it started with: <see cref="GatewayContext.Catalog"/>).</summary>
    public ModelCatalog Catalog => Catalogs.Current;
    public KeyAuthenticator KeyAuthenticator { get; }
    public KeyAdministration Keys { get; }
    public AdminAuthenticator Admin { get; }
    public ProviderRegistry Providers { get; }
    /// <summary>The pricing catalog in force (replaceable at runtime).</summary>
    public PriceCatalogHolder Prices { get; }
    public IVolumeTracker Volume { get; }
    public PricingCostMeter CostMeter { get; }
    public CurrencyConverter Currencies { get; }
    /// <summary>Budgets: this instance's gate onto them (Durable Entities in the Functions app, in memory otherwise).</summary>
    public BudgetGate Budgets { get; }
    /// <summary>Rate limits: this instance's gate onto the counters (Durable Entities in the Functions app, in memory otherwise).</summary>
    public RateLimitGate RateLimits { get; }
    /// <summary>Deployments' provider quotas shared fairly among keys, and the model/provider stop list.</summary>
    public UpstreamGate Upstream { get; }
    /// <summary>One circuit breaker per deployment (per instance).</summary>
    public DeploymentBreakers Breakers { get; }
    /// <summary>The response cache's store (in memory unless another is given).</summary>
    public ICacheStore Cache { get; }
    /// <summary>The keyed hash that stands for an end user (audit subjects, pseudonymous records); null without a pepper.</summary>
    public Audit.SubjectHasher? Subjects { get; }
    /// <summary>How usage records name end users (plain, or hashed per <see cref="GatewayOptions.Privacy"/>).</summary>
    public Privacy.UserPseudonyms Pseudonyms { get; }
    /// <summary>The gateway's meters (GenAI semantic conventions plus its own).</summary>
    public GatewayMetrics Metrics { get; }
    /// <summary>Where usage records go (the usage queue in the Functions app), through the metrics.</summary>
    public IUsageSink UsageSink { get; }
    /// <summary>Where audit events go (the audit queue in the Functions app).</summary>
    public IAuditSink Audit { get; }
    /// <summary>Records admin changes with who made them and the state before and after.</summary>
    public AdminAudit AdminAudit { get; }
    /// <summary>Refused authentication, counted per source and minute for the audit log.</summary>
    public RefusedAuthentication RefusedAuthentication { get; }
    public GatewayPipeline Pipeline { get; }
    public ChatCompletionService ChatCompletions { get; }
}
