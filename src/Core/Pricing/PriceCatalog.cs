using System.Globalization;
using System.Text.Json;

namespace Gateway.Core.Pricing;

/// <summary>Prices per million tokens, in USD. Missing cache prices mean those tokens are billed as plain input.</summary>
public sealed record TokenPrices(decimal Input, decimal Output, decimal? CachedInput = null, decimal? CacheWrite5m = null, decimal? CacheWrite1h = null)
{
    public decimal CachedInputOrInput => CachedInput ?? Input;
    public decimal CacheWrite5mOrInput => CacheWrite5m ?? Input;
    public decimal CacheWrite1hOrInput => CacheWrite1h ?? CacheWrite5m ?? Input;

    /// <summary>The highest price any prompt token can be billed at (a prompt token may be a cache write).</summary>
    public decimal MaxInput => Math.Max(Math.Max(Input, CachedInputOrInput), Math.Max(CacheWrite5mOrInput, CacheWrite1hOrInput));
}

/// <summary>A provider's long-context tier: above the threshold the whole request is billed at <see cref="Prices"/>.</summary>
public sealed record LongContextTier(int ThresholdInputTokens, TokenPrices Prices);

/// <summary>One price of one model, in force from <see cref="EffectiveFrom"/> (UTC) until the next entry's date.</summary>
public sealed record ModelPrice(
    string Provider, string Model, DateOnly EffectiveFrom, TokenPrices Prices, LongContextTier? LongContext,
    int? MaxOutputTokens, int? MaxImageTokens, decimal BatchDiscount)
{
    /// <summary>Names the price in usage records, e.g. <c>openai/gpt-4o@2024-10-02</c>.</summary>
    public string Key => $"{Provider}/{Model}@{EffectiveFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
}

/// <summary>An invalid pricing catalog: every problem found, each naming its JSON path.</summary>
public sealed class PriceCatalogException(IReadOnlyList<string> errors) : Configuration.DocumentRejectedException("pricing catalog", errors);

/// <summary>
/// The published prices of every model the gateway knows, by provider, each with the dates its prices took effect.
/// It ships embedded (<c>Pricing/prices.json</c>) and can be replaced at runtime with a document of the same shape.
/// Lookup by model name is case-insensitive and tolerates dated snapshots: <c>gpt-4o-mini-2024-07-18</c> is priced as
/// <c>gpt-4o-mini</c> unless the snapshot has an entry of its own (the longest listed name wins).
/// </summary>
public sealed class PriceCatalog
{
    private readonly Dictionary<string, Dictionary<string, ModelPrice[]>> _providers;

    private PriceCatalog(string version, string json, Dictionary<string, Dictionary<string, ModelPrice[]>> providers)
    {
        Version = version;
        Json = json;
        _providers = providers;
    }

    /// <summary>The document's <c>version</c>.</summary>
    public string Version { get; }

    /// <summary>The document the catalog was read from, as given.</summary>
    public string Json { get; }

    public IEnumerable<string> Providers => _providers.Keys;

    public int ModelCount => _providers.Values.Sum(p => p.Count);

    private static readonly Lazy<PriceCatalog> s_default = new(() =>
    {
        using var stream = typeof(PriceCatalog).Assembly.GetManifestResourceStream("Gateway.Core.Pricing.prices.json")
            ?? throw new InvalidOperationException("The embedded pricing catalog is missing.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    });

    /// <summary>The catalog that ships with the gateway.</summary>
    public static PriceCatalog Default => s_default.Value;

    /// <summary>The model names a provider lists, as listed, in ordinal order (none for a provider not listed).</summary>
    public IReadOnlyList<string> ModelsOf(string provider) =>
        _providers.TryGetValue(provider, out var models) ? [.. models.Keys.Order(StringComparer.Ordinal)] : [];

    /// <summary>All prices listed for a model name (exact listed name), oldest first.</summary>
    public IReadOnlyList<ModelPrice> PricesOf(string provider, string model) =>
        _providers.TryGetValue(provider, out var models) && models.TryGetValue(model, out var prices) ? prices : [];

    /// <summary>
    /// The price in force at <paramref name="at"/> for a model served by a provider, or null when the model is not
    /// listed or was not yet priced then.
    /// </summary>
    public ModelPrice? Find(string provider, string? model, DateTimeOffset at)
    {
        if (string.IsNullOrEmpty(model) || !_providers.TryGetValue(provider, out var models)) return null;
        var name = model.AsSpan().Trim();
        var slash = name.LastIndexOf('/');
        if (slash >= 0) name = name[(slash + 1)..];
        var lookup = models.GetAlternateLookup<ReadOnlySpan<char>>();
        while (name.Length > 0)
        {
            if (lookup.TryGetValue(name, out var prices)) return InForce(prices, at);
            var dash = name.LastIndexOf('-');
            if (dash <= 0) return null;
            name = name[..dash];
        }

        return null;
    }

    private static ModelPrice? InForce(ModelPrice[] prices, DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        for (var i = prices.Length - 1; i >= 0; i--)
        {
            if (prices[i].EffectiveFrom <= day) return prices[i];
        }

        return null;
    }

    /// <summary>Reads and validates a catalog document; throws <see cref="PriceCatalogException"/> listing every problem.</summary>
    public static PriceCatalog Parse(string json)
    {
        var errors = new List<string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new PriceCatalogException([$"$: not valid JSON ({ex.Message})"]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new PriceCatalogException(["$: must be an object"]);
            var version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
            if (version is null) errors.Add("$.version: required (a non-empty string)");
            if (root.TryGetProperty("currency", out var currency) && currency.GetString() != "USD") errors.Add("$.currency: prices must be in USD");
            if (root.TryGetProperty("unit", out var unit) && unit.GetString() != "per_million_tokens") errors.Add("$.unit: must be per_million_tokens");

            var providers = new Dictionary<string, Dictionary<string, ModelPrice[]>>(StringComparer.OrdinalIgnoreCase);
            if (!root.TryGetProperty("providers", out var providersElement) || providersElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("$.providers: required (an object of providers)");
            }
            else
            {
                foreach (var provider in providersElement.EnumerateObject())
                {
                    var models = ReadProvider(provider.Name, provider.Value, $"$.providers.{provider.Name}", errors);
                    if (models is not null) providers[provider.Name.ToLowerInvariant()] = models;
                }
            }

            if (errors.Count > 0) throw new PriceCatalogException(errors);
            return new PriceCatalog(version!, json, providers);
        }
    }

    private static Dictionary<string, ModelPrice[]>? ReadProvider(string provider, JsonElement element, string path, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object");
            return null;
        }

        var batchDiscount = OptionalDecimal(element, "batchDiscount", path, errors) ?? 0m;
        if (batchDiscount is < 0m or >= 1m) errors.Add($"{path}.batchDiscount: must be at least 0 and below 1");
        var providerImageTokens = OptionalInt(element, "maxImageTokens", path, errors);
        if (!element.TryGetProperty("models", out var modelsElement) || modelsElement.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}.models: required (an object of models)");
            return null;
        }

        var models = new Dictionary<string, ModelPrice[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in modelsElement.EnumerateObject())
        {
            var modelPath = $"{path}.models.{model.Name}";
            if (models.ContainsKey(model.Name))
            {
                errors.Add($"{modelPath}: listed twice");
                continue;
            }

            if (model.Value.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{modelPath}: must be an object");
                continue;
            }

            var maxOutput = OptionalInt(model.Value, "maxOutputTokens", modelPath, errors);
            var imageTokens = OptionalInt(model.Value, "maxImageTokens", modelPath, errors) ?? providerImageTokens;
            if (!model.Value.TryGetProperty("prices", out var pricesElement) || pricesElement.ValueKind != JsonValueKind.Array || pricesElement.GetArrayLength() == 0)
            {
                errors.Add($"{modelPath}.prices: required (a non-empty array)");
                continue;
            }

            var list = new List<ModelPrice>();
            var index = 0;
            foreach (var entry in pricesElement.EnumerateArray())
            {
                var entryPath = $"{modelPath}.prices[{index++}]";
                if (entry.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{entryPath}: must be an object");
                    continue;
                }

                DateOnly? from = null;
                if (!entry.TryGetProperty("effectiveFrom", out var fromElement) || fromElement.ValueKind != JsonValueKind.String ||
                    !DateOnly.TryParseExact(fromElement.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                {
                    errors.Add($"{entryPath}.effectiveFrom: required (a date, yyyy-MM-dd)");
                }
                else
                {
                    from = parsed;
                    if (list.Count > 0 && parsed <= list[^1].EffectiveFrom)
                        errors.Add($"{entryPath}.effectiveFrom: {parsed:yyyy-MM-dd} must be after the previous entry's {list[^1].EffectiveFrom:yyyy-MM-dd}");
                }

                var prices = ReadPrices(entry, entryPath, errors);
                LongContextTier? tier = null;
                if (entry.TryGetProperty("longContext", out var lc))
                {
                    var lcPath = entryPath + ".longContext";
                    var threshold = lc.ValueKind == JsonValueKind.Object ? OptionalInt(lc, "thresholdInputTokens", lcPath, errors) : null;
                    if (threshold is null) errors.Add($"{lcPath}.thresholdInputTokens: required (a positive whole number)");
                    var lcPrices = lc.ValueKind == JsonValueKind.Object ? ReadPrices(lc, lcPath, errors) : null;
                    if (threshold is not null && lcPrices is not null) tier = new LongContextTier(threshold.Value, lcPrices);
                }

                if (from is not null && prices is not null)
                {
                    list.Add(new ModelPrice(provider.ToLowerInvariant(), model.Name, from.Value, prices, tier, maxOutput, imageTokens, batchDiscount));
                }
            }

            models[model.Name] = [.. list];
        }

        return models;
    }

    private static TokenPrices? ReadPrices(JsonElement element, string path, List<string> errors)
    {
        var count = errors.Count;
        var input = OptionalDecimal(element, "input", path, errors);
        var output = OptionalDecimal(element, "output", path, errors);
        if (input is null) errors.Add($"{path}.input: required (USD per million tokens)");
        if (output is null) errors.Add($"{path}.output: required (USD per million tokens)");
        var prices = new TokenPrices(input ?? 0, output ?? 0,
            OptionalDecimal(element, "cachedInput", path, errors),
            OptionalDecimal(element, "cacheWrite5m", path, errors),
            OptionalDecimal(element, "cacheWrite1h", path, errors));
        return errors.Count == count ? prices : null;
    }

    private static decimal? OptionalDecimal(JsonElement element, string name, string path, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var d))
        {
            errors.Add($"{path}.{name}: must be a number");
            return null;
        }

        if (d < 0)
        {
            errors.Add($"{path}.{name}: must not be negative");
            return null;
        }

        return d;
    }

    private static int? OptionalInt(JsonElement element, string name, string path, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var i) || i <= 0)
        {
            errors.Add($"{path}.{name}: must be a positive whole number");
            return null;
        }

        return i;
    }
}
