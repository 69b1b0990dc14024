namespace Gateway.Core.Configuration;

/// <summary>
/// How a deployment's requests are priced when the published list price is not the bill: the catalog model to price
/// as (Azure deployments have names of their own), explicit negotiated prices, a discount, volume tiers.
/// Section <c>Gateway:Catalog:Deployments:N:Pricing</c>.
/// </summary>
public sealed class DeploymentPricingOptions
{
    /// <summary>The catalog model to price as (e.g. <c>gpt-4o</c> for an Azure deployment named <c>chat-prod</c>). Default: the model the provider reports, else the deployment's model.</summary>
    public string? PriceAs { get; set; }
    /// <summary>USD per million input tokens, replacing the list price.</summary>
    public decimal? Input { get; set; }
    /// <summary>USD per million output (and reasoning) tokens, replacing the list price.</summary>
    public decimal? Output { get; set; }
    /// <summary>USD per million cached input tokens, replacing the list price.</summary>
    public decimal? CachedInput { get; set; }
    /// <summary>USD per million tokens written to a 5-minute prompt cache, replacing the list price.</summary>
    public decimal? CacheWrite5m { get; set; }
    /// <summary>USD per million tokens written to a 1-hour prompt cache, replacing the list price.</summary>
    public decimal? CacheWrite1h { get; set; }
    /// <summary>Fraction off every price (0.15 = 15% off), e.g. a negotiated discount.</summary>
    public decimal Discount { get; set; }
    /// <summary>Discounts by month-to-date volume; the highest tier reached replaces <see cref="Discount"/>.</summary>
    public List<VolumeTierOptions> VolumeTiers { get; set; } = [];
    /// <summary>The deployment serves batch traffic: the provider's batch discount applies.</summary>
    public bool Batch { get; set; }
    /// <summary>
    /// The deployment costs nothing per token (a self-hosted model, a test double): its requests are recorded at $0 with
    /// the price key <c>provider/deployment@free</c>. Saying so is required: a deployment the pricing catalog cannot price
    /// and that is not free is refused at startup, so nothing is ever recorded at $0 by accident.
    /// </summary>
    public bool Free { get; set; }

    public bool HasExplicitPrices => Input is not null || Output is not null || CachedInput is not null || CacheWrite5m is not null || CacheWrite1h is not null;
}

/// <summary>From <see cref="FromMonthlyTokens"/> tokens in the calendar month (UTC) on, requests get <see cref="Discount"/> off.</summary>
public sealed class VolumeTierOptions
{
    public long FromMonthlyTokens { get; set; }
    public decimal Discount { get; set; }
}
