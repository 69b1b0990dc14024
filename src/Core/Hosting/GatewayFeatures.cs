using System.Collections.ObjectModel;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;

namespace Gateway.Core.Hosting;

/// <summary>A capability of the gateway that a feature flag turns on or off (the flag's name is the member's name).</summary>
public enum GatewayFeature
{
    /// <summary>The response cache (<see cref="Caching.CacheStage"/>) and its shared store (blob or Redis).</summary>
    Cache,
    /// <summary>Identical requests in flight at once sharing one upstream call; part of the cache stage, so it only acts with <see cref="Cache"/> on.</summary>
    Coalescing,
    /// <summary>The budget stage (<see cref="Budgets.BudgetStage"/>) and the budget admin API.</summary>
    Budgets,
    /// <summary>The rate-limit stages (early refusal and admission), so also the <c>x-ratelimit-*</c> headers.</summary>
    RateLimits,
    /// <summary>The <see cref="Routing.UpstreamGate"/>: deployments' provider quotas shared among keys, and the model/provider stop list with its stop stage and admin API.</summary>
    ProviderQuotas,
    /// <summary>The safety stage (policies, detectors, Content Safety) and the safety admin API.</summary>
    Safety,
    /// <summary>The audit log's sink (no events recorded), its sealing timer and its API.</summary>
    Audit,
    /// <summary>The daily analytics snapshot (timer) and <c>GET /gateway/analytics</c>.</summary>
    Analytics,
}

/// <summary>
/// Which capabilities this gateway runs, decided once at startup (a change takes a restart). A capability switched off
/// is absent: its stage is not in <see cref="GatewayRuntime.Pipeline"/> at all, its routes answer 404
/// <c>feature_disabled</c>, its timers do nothing. Pure: the Functions app reads the flags (Microsoft.FeatureManagement)
/// and builds this; tests build it directly. Every capability is on unless said otherwise.
/// </summary>
public sealed record GatewayFeatures
{
    /// <summary>One bit per capability switched off (bit n: the <see cref="GatewayFeature"/> of value n).</summary>
    private readonly int _off;

    private GatewayFeatures(int off) => _off = off;

    /// <summary>Every capability on: the default.</summary>
    public static readonly GatewayFeatures All = new(0);

    /// <summary>The flags' names, in the order of <see cref="GatewayFeature"/>.</summary>
    public static readonly ReadOnlyCollection<string> Names = Array.AsReadOnly(Enum.GetNames<GatewayFeature>());

    public bool Cache => IsOn(GatewayFeature.Cache);
    public bool Coalescing => IsOn(GatewayFeature.Coalescing);
    public bool Budgets => IsOn(GatewayFeature.Budgets);
    public bool RateLimits => IsOn(GatewayFeature.RateLimits);
    public bool ProviderQuotas => IsOn(GatewayFeature.ProviderQuotas);
    public bool Safety => IsOn(GatewayFeature.Safety);
    public bool Audit => IsOn(GatewayFeature.Audit);
    public bool Analytics => IsOn(GatewayFeature.Analytics);

    public bool IsOn(GatewayFeature feature) => (_off & Bit(feature)) == 0;

    /// <summary>A copy with one capability switched.</summary>
    public GatewayFeatures With(GatewayFeature feature, bool on) => new(on ? _off & ~Bit(feature) : _off | Bit(feature));

    private static int Bit(GatewayFeature feature) =>
        Enum.IsDefined(feature) ? 1 << (int)feature : throw new ArgumentOutOfRangeException(nameof(feature), feature, "Not a gateway feature.");

    /// <summary>Every capability on except the ones named.</summary>
    public static GatewayFeatures Without(params GatewayFeature[] off) => off.Aggregate(All, (features, f) => features.With(f, false));

    /// <summary>The capability a flag name stands for (case-insensitive), or null when the name is not one of <see cref="Names"/>.</summary>
    public static GatewayFeature? Parse(string name) =>
        // Enum.TryParse also takes numbers and comma-separated lists ("Cache,Budgets"): neither names a flag
        !name.Contains(',', StringComparison.Ordinal) && !int.TryParse(name, out _) && Enum.TryParse<GatewayFeature>(name, ignoreCase: true, out var feature) && Enum.IsDefined(feature)
            ? feature : null;

    /// <summary>The capabilities switched off, in the order of <see cref="GatewayFeature"/>.</summary>
    public IReadOnlyList<GatewayFeature> Off => [.. Enum.GetValues<GatewayFeature>().Where(f => !IsOn(f))];

    /// <summary>Refuses a route of a capability that is off: 404 <c>feature_disabled</c>, naming the flag.</summary>
    public void Demand(GatewayFeature feature)
    {
        if (!IsOn(feature)) throw Disabled(feature);
    }

    public static GatewayException Disabled(GatewayFeature feature) =>
        new(new GatewayError(404,
            $"The {feature} feature is turned off on this gateway (feature flag FeatureManagement:{feature} is false), so this endpoint is not available. Turn the flag on and restart the app to use it.",
            "invalid_request_error", null, "feature_disabled"));

    /// <summary>The flags by name, as <c>GET /health/ready</c> lists them: <c>{"Cache": true, …}</c>.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var feature in Enum.GetValues<GatewayFeature>()) json[feature.ToString()] = IsOn(feature);
        return json;
    }

    public override string ToString() =>
        string.Join(", ", Enum.GetValues<GatewayFeature>().Select(f => f + (IsOn(f) ? " on" : " off")));
}
