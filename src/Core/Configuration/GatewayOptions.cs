namespace Gateway.Core.Configuration;

/// <summary>Gateway-wide settings (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Largest accepted request body, in bytes (413 above it).</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;
    /// <summary>The admin API key (plain text in settings, or a Key Vault reference). Admin API is off when empty.</summary>
    public string? AdminKey { get; set; }
    /// <summary>A gateway key created at startup if absent: for local development only.</summary>
    public string? DevKey { get; set; }
    /// <summary>Header that attributes a request to an end user when the body has no <c>user</c> field.</summary>
    public string UserHeader { get; set; } = "x-gateway-user";
    /// <summary>
    /// How long a request may wait, in all, on the shared counters that admit it (rate limits, budgets, provider quotas)
    /// once its body has been read; one that gets no decision by then is refused with 429 and Retry-After, never queued.
    /// </summary>
    public double AdmissionTimeoutSeconds { get; set; } = 1.5;
    /// <summary>How long a key lookup is cached per instance; a revoke takes effect everywhere within this time.</summary>
    public double KeyCacheSeconds { get; set; } = 30;
    /// <summary>A streaming client that accepts nothing for this long is dropped and the upstream call cancelled (billed for what was produced).</summary>
    public double StreamWriteTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// The most the worker holds of a response its client has not taken yet (the server's response buffer): once this
    /// much waits, the next write waits, and a stream reads nothing more from its upstream until the client takes some.
    /// </summary>
    public int StreamBufferBytes { get; set; } = DefaultStreamBufferBytes;
    public const int DefaultStreamBufferBytes = 8 * 1024;
    public const int MinStreamBufferBytes = 4 * 1024;
    public CatalogOptions Catalog { get; set; } = new();
    /// <summary>The blob holding a model catalog replaced at runtime (container/name in the gateway's storage account).</summary>
    public string CatalogBlob { get; set; } = "gateway-config/catalog.json";
    /// <summary>How often each instance looks for a replaced (or deleted) model catalog, in seconds.</summary>
    public double CatalogRefreshSeconds { get; set; } = 60;
    /// <summary>Usage log retention (section <c>Gateway:Usage</c>).</summary>
    public Usage.UsageRetentionOptions Usage { get; set; } = new();
    /// <summary>Header carrying request tags for usage attribution: <c>key=value</c> pairs separated by commas.</summary>
    public string TagsHeader { get; set; } = "x-gateway-tags";
    /// <summary>Currencies for reports and where a replacement pricing catalog is kept (section <c>Gateway:Pricing</c>).</summary>
    public Pricing.PricingOptions Pricing { get; set; } = new();
    /// <summary>How this instance works with budgets (section <c>Gateway:Budgets</c>).</summary>
    public Budgets.BudgetGateOptions Budgets { get; set; } = new();
    /// <summary>Requests and tokens per minute per key and per (key, model) (section <c>Gateway:RateLimits</c>).</summary>
    public RateLimits.RateLimitOptions RateLimits { get; set; } = new();
    /// <summary>Upstream quotas and model/provider stops (section <c>Gateway:Upstream</c>).</summary>
    public Routing.UpstreamOptions Upstream { get; set; } = new();
    /// <summary>Retries, backoff and circuit breakers (section <c>Gateway:Resilience</c>).</summary>
    public Resilience.ResilienceOptions Resilience { get; set; } = new();
    /// <summary>Upstream connection pooling (section <c>Gateway:Http</c>).</summary>
    public Providers.UpstreamHttpOptions Http { get; set; } = new();
    /// <summary>The response cache (section <c>Gateway:Cache</c>).</summary>
    public Caching.CacheOptions Cache { get; set; } = new();
    /// <summary>Section <c>Gateway:Safety</c>: the content-safety policy applied to every request and answer.</summary>
    public Safety.SafetyOptions Safety { get; set; } = new();
    /// <summary>Section <c>Gateway:Audit</c>: the audit log's batching, sealing, signing key and retention.</summary>
    public Audit.AuditOptions Audit { get; set; } = new();
    /// <summary>Section <c>Gateway:Savings</c>: the thresholds of the savings recommendations (<c>GET /gateway/savings</c>).</summary>
    public Savings.SavingsOptions Savings { get; set; } = new();
    /// <summary>Section <c>Gateway:Privacy</c>: pseudonymous end users on usage records, and the pepper of end-user hashes.</summary>
    public Privacy.PrivacyOptions Privacy { get; set; } = new();
    /// <summary>Section <c>Gateway:Dashboard</c>: the admin dashboard's session key and session length.</summary>
    public Dashboard.DashboardOptions Dashboard { get; set; } = new();
    /// <summary>Section <c>Gateway:Analytics</c>: anomaly baselines and guards, forecasts, rankings and where daily snapshots are kept.</summary>
    public Analytics.AnalyticsOptions Analytics { get; set; } = new();
    /// <summary>Section <c>Gateway:Health</c>: the readiness probe's per-check timeout and how long its results are reused.</summary>
    public Health.HealthOptions Health { get; set; } = new();

    /// <summary>What is wrong with the gateway-wide values (the sections validate their own), one line each.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (StreamBufferBytes < MinStreamBufferBytes)
            errors.Add($"Gateway:StreamBufferBytes is {StreamBufferBytes}: it must be at least {MinStreamBufferBytes} bytes.");
        if (StreamWriteTimeoutSeconds <= 0) errors.Add($"Gateway:StreamWriteTimeoutSeconds is {StreamWriteTimeoutSeconds}: it must be above 0.");
        if (double.IsNaN(CatalogRefreshSeconds) || CatalogRefreshSeconds is < 1 or > 3600)
            errors.Add($"Gateway:CatalogRefreshSeconds is {CatalogRefreshSeconds}: it must be between 1 and 3600.");
        var slash = CatalogBlob.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == CatalogBlob.Length - 1) errors.Add($"Gateway:CatalogBlob is '{CatalogBlob}': it must be container/name.");
        return errors;
    }
}
