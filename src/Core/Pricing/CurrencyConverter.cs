using Gateway.Core.Usage;

namespace Gateway.Core.Pricing;

/// <summary>Pricing settings (section <c>Gateway:Pricing</c>).</summary>
public sealed class PricingOptions
{
    /// <summary>Units of each currency per US dollar, e.g. <c>{"EUR": 0.92}</c>; reports may ask for any of them. USD is always known.</summary>
    public Dictionary<string, decimal> Currencies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>The blob holding a replacement pricing catalog (container/name in the gateway's storage account).</summary>
    public string CatalogBlob { get; set; } = "gateway-config/prices.json";
    /// <summary>How often each instance looks for a replaced catalog, in seconds.</summary>
    public double CatalogRefreshSeconds { get; set; } = 60;
}

/// <summary>
/// Converts USD to configured currencies at fixed configured rates: amount × rate, exact in decimal and unrounded
/// (reports round for display only). Rates are validated: positive, three-letter codes.
/// </summary>
public sealed class CurrencyConverter : ICurrencyRates
{
    private readonly Dictionary<string, decimal> _rates;

    public CurrencyConverter(IReadOnlyDictionary<string, decimal> rates)
    {
        _rates = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase) { ["USD"] = 1m };
        var errors = new List<string>();
        foreach (var (code, rate) in rates)
        {
            if (code.Length != 3 || !code.All(char.IsAsciiLetter)) errors.Add($"Gateway:Pricing:Currencies:{code}: a currency is a three-letter code (ISO 4217).");
            else if (rate <= 0) errors.Add($"Gateway:Pricing:Currencies:{code}: the rate (units per USD) must be positive.");
            else _rates[code.ToUpperInvariant()] = rate;
        }

        if (errors.Count > 0) throw new ArgumentException("Invalid currency settings: " + string.Join(" ", errors), nameof(rates));
    }

    public IEnumerable<string> Currencies => _rates.Keys;

    public bool IsKnown(string currency) => _rates.ContainsKey(currency);

    public decimal Convert(decimal usd, string currency) =>
        _rates.TryGetValue(currency, out var rate) ? usd * rate : throw new ArgumentException($"The currency '{currency}' is not configured.", nameof(currency));
}
