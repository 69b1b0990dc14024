using Gateway.Testing;
using Gateway.Core.Configuration;
using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Pricing;

namespace Gateway.Core.Tests.Pricing;

public sealed class PriceCatalogTests
{
    private static DateTimeOffset Day(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void The_shipped_catalog_is_valid_and_covers_all_three_providers()
    {
        var catalog = PriceCatalog.Default;
        Assert.Contains("openai", catalog.Providers);
        Assert.Contains("azure-openai", catalog.Providers);
        Assert.Contains("anthropic", catalog.Providers);
        Assert.True(catalog.ModelCount >= 30);
        Assert.False(string.IsNullOrEmpty(catalog.Version));
    }

    [Theory]
    [InlineData("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("openai", "gpt-4o-2024-11-20", "gpt-4o")]
    [InlineData("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13")]
    [InlineData("openai", "GPT-4.1-MINI", "gpt-4.1-mini")]
    [InlineData("openai", "gpt-4.1-2025-04-14", "gpt-4.1")]
    [InlineData("openai", "o3-mini-2025-01-31", "o3-mini")]
    [InlineData("openai", "openai/gpt-5", "gpt-5")]
    [InlineData("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1")]
    [InlineData("mock", "mock-1", "mock")]
    public void Dated_snapshots_and_variants_find_their_longest_listed_name(string provider, string model, string listed)
    {
        var price = PriceCatalog.Default.Find(provider, model, Day("2025-12-01T00:00:00Z"));
        Assert.NotNull(price);
        Assert.Equal(listed, price.Model);
    }

    [Theory]
    [InlineData("openai", "gpt-4")]
    [InlineData("openai", "llama-3")]
    [InlineData("openai", "")]
    [InlineData("groq", "gpt-4o")]
    [InlineData("anthropic", "claude")]
    public void Unlisted_models_and_providers_have_no_price(string provider, string model) =>
        Assert.Null(PriceCatalog.Default.Find(provider, model, Day("2025-12-01T00:00:00Z")));

    [Fact]
    public void The_price_in_force_is_the_latest_that_took_effect_by_the_request_day()
    {
        var catalog = PriceCatalog.Default;
        Assert.Equal(10.00m, catalog.Find("openai", "o3", Day("2025-06-09T23:59:59.999Z"))!.Prices.Input);
        Assert.Equal(2.00m, catalog.Find("openai", "o3", Day("2025-06-10T00:00:00Z"))!.Prices.Input);
        // a request's own offset does not matter: the day is the UTC day
        Assert.Equal(10.00m, catalog.Find("openai", "o3", Day("2025-06-10T01:00:00+02:00"))!.Prices.Input);
        Assert.Null(catalog.Find("openai", "o3", Day("2025-04-15T23:59:59Z")));
    }

    private const string Valid = """
        { "version": "t1", "currency": "USD", "unit": "per_million_tokens",
          "providers": { "openai": { "batchDiscount": 0.5, "models": { "m": { "prices": [ { "effectiveFrom": "2025-01-01", "input": 1, "output": 2 } ] } } } } }
        """;

    [Fact]
    public void A_minimal_catalog_parses()
    {
        var catalog = PriceCatalog.Parse(Valid);
        Assert.Equal("t1", catalog.Version);
        var price = catalog.Find("openai", "m-2025", Day("2025-02-01T00:00:00Z"))!;
        Assert.Equal(new TokenPrices(1m, 2m), price.Prices);
        Assert.Equal(0.5m, price.BatchDiscount);
        Assert.Equal("openai/m@2025-01-01", price.Key);
    }

    [Fact]
    public void Every_problem_is_reported_with_its_path()
    {
        const string json = """
            { "currency": "EUR",
              "providers": {
                "openai": { "batchDiscount": 1.5, "models": {
                  "a": { "prices": [ { "effectiveFrom": "2025-02-01", "input": 1, "output": 2 }, { "effectiveFrom": "2025-01-01", "input": -1, "output": "x" } ] },
                  "b": { "prices": [] },
                  "c": { "maxOutputTokens": 0, "prices": [ { "effectiveFrom": "01/02/2025", "output": 1,
                         "longContext": { "input": 1, "output": 1 } } ] } } },
                "anthropic": "nope" } }
            """;
        var ex = Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json));
        Assert.Contains("$.version: required (a non-empty string)", ex.Errors);
        Assert.Contains("$.currency: prices must be in USD", ex.Errors);
        Assert.Contains("$.providers.openai.batchDiscount: must be at least 0 and below 1", ex.Errors);
        Assert.Contains("$.providers.openai.models.a.prices[1].effectiveFrom: 2025-01-01 must be after the previous entry's 2025-02-01", ex.Errors);
        Assert.Contains("$.providers.openai.models.a.prices[1].input: must not be negative", ex.Errors);
        Assert.Contains("$.providers.openai.models.a.prices[1].output: must be a number", ex.Errors);
        Assert.Contains("$.providers.openai.models.b.prices: required (a non-empty array)", ex.Errors);
        Assert.Contains("$.providers.openai.models.c.maxOutputTokens: must be a positive whole number", ex.Errors);
        Assert.Contains("$.providers.openai.models.c.prices[0].effectiveFrom: required (a date, yyyy-MM-dd)", ex.Errors);
        Assert.Contains("$.providers.openai.models.c.prices[0].input: required (USD per million tokens)", ex.Errors);
        Assert.Contains("$.providers.openai.models.c.prices[0].longContext.thresholdInputTokens: required (a positive whole number)", ex.Errors);
        Assert.Contains("$.providers.anthropic: must be an object", ex.Errors);
    }

    [Fact]
    public void Two_prices_taking_effect_the_same_day_are_refused_not_silently_one_of_them()
    {
        const string json = """
            { "version": "t", "providers": { "openai": { "models": { "m": { "prices": [
                { "effectiveFrom": "2025-01-01", "input": 1, "output": 2 },
                { "effectiveFrom": "2025-01-01", "input": 3, "output": 4 } ] } } } } }
            """;
        var ex = Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json));
        Assert.Equal(new[] { "$.providers.openai.models.m.prices[1].effectiveFrom: 2025-01-01 must be after the previous entry's 2025-01-01" }, ex.Errors);
    }

    [Theory]
    [InlineData("1", "$.providers.openai.batchDiscount: must be at least 0 and below 1")] // a batch discount of 100 % would make batch traffic free
    [InlineData("-0.1", "$.providers.openai.batchDiscount: must not be negative")]
    public void A_batch_discount_is_below_one(string discount, string error)
    {
        var json = """{ "version": "t", "providers": { "openai": { "batchDiscount": DISCOUNT, "models": { "m": { "prices": [ { "effectiveFrom": "2025-01-01", "input": 1, "output": 2 } ] } } } } }"""
            .Replace("DISCOUNT", discount, StringComparison.Ordinal);
        Assert.Contains(error, Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json)).Errors);
        Assert.Equal(0.99m, PriceCatalog.Parse(json.Replace("\"batchDiscount\": " + discount, "\"batchDiscount\": 0.99", StringComparison.Ordinal))
            .Find("openai", "m", Day("2025-02-01T00:00:00Z"))!.BatchDiscount);
    }

    [Fact]
    public void Models_that_are_not_an_object_are_reported_not_crashed_on()
    {
        const string json = """{ "version": "t", "providers": { "openai": { "models": [ "gpt-4o" ] } } }""";
        var ex = Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json));
        Assert.Equal(new[] { "$.providers.openai.models: required (an object of models)" }, ex.Errors);
    }

    [Fact]
    public void A_long_context_tier_that_is_not_an_object_is_reported_not_crashed_on()
    {
        const string json = """
            { "version": "t", "providers": { "anthropic": { "models": { "m": { "prices": [
                { "effectiveFrom": "2025-01-01", "input": 1, "output": 2, "longContext": 200000 } ] } } } } }
            """;
        var ex = Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json));
        Assert.Equal(new[] { "$.providers.anthropic.models.m.prices[0].longContext.thresholdInputTokens: required (a positive whole number)" }, ex.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{\"version\":\"x\"}")]
    public void Garbage_is_rejected_not_crashed_on(string json) =>
        Assert.NotEmpty(Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(json)).Errors);

    [Fact]
    public void Replacing_with_an_invalid_catalog_keeps_the_one_in_force()
    {
        var holder = new PriceCatalogHolder(PriceCatalog.Default);
        Assert.Throws<PriceCatalogException>(() => holder.Replace("{\"version\":\"broken\"}"));
        Assert.Same(PriceCatalog.Default, holder.Current);
        holder.Replace(Valid);
        Assert.Equal("t1", holder.Current.Version);
    }

    [Fact]
    public async Task Every_instance_installs_a_stored_replacement_and_refuses_an_invalid_one()
    {
        var store = new MemoryDocumentStore();
        var holderA = new PriceCatalogHolder(PriceCatalog.Default);
        var holderB = new PriceCatalogHolder(PriceCatalog.Default);
        var instanceA = new DocumentSync(holderA, store);
        var instanceB = new DocumentSync(holderB, store);

        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);
        await instanceA.ReplaceAsync(Valid, default);
        Assert.Equal("t1", holderA.Current.Version);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal("t1", holderB.Current.Version);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);

        // someone uploads a broken blob directly: instances keep their catalog and say why
        store.Stored = new StoredDocument("{\"version\":\"t2\",\"providers\":{}} trailing", "etag-bad");
        var (outcome, errors) = await instanceB.RefreshAsync(default);
        Assert.Equal(DocumentRefreshOutcome.Rejected, outcome);
        Assert.NotEmpty(errors);
        Assert.Equal("t1", holderB.Current.Version);

        // the admin API validates before storing anything
        await Assert.ThrowsAsync<PriceCatalogException>(() => instanceA.ReplaceAsync("{}", default));
        Assert.Equal(1, store.Saves);
    }

    [Fact]
    public async Task The_admin_api_describes_the_catalog_and_refuses_invalid_documents_with_a_400_naming_the_problems()
    {
        var holder = new PriceCatalogHolder(PriceCatalog.Default);
        var admin = new PricingAdministration(holder, new DocumentSync(holder, new MemoryDocumentStore()));
        var described = admin.Describe();
        Assert.Equal(PriceCatalog.Default.Version, (string?)described["version"]);
        Assert.NotNull(described["catalog"]?["providers"]?["anthropic"]);

        var ex = await Assert.ThrowsAsync<Errors.GatewayException>(() => admin.ReplaceAsync("{\"providers\":{}}"u8.ToArray(), default));
        Assert.Equal(400, ex.Error.Status);
        Assert.Equal("invalid_catalog", ex.Error.Code);
        Assert.Contains("$.version", ex.Error.Message, StringComparison.Ordinal);
        Assert.Contains("unchanged", ex.Error.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<Errors.GatewayException>(() => admin.ReplaceAsync([0xff, 0xfe], default));
        Assert.Equal(400, bad.Error.Status);

        var result = await admin.ReplaceAsync(System.Text.Encoding.UTF8.GetBytes(Valid), default);
        Assert.Equal("t1", (string?)result["version"]);
        Assert.Equal("t1", (string?)admin.Describe()["version"]);
    }

    [Fact]
    public void Currency_conversion_is_exact_and_only_for_configured_currencies()
    {
        var rates = new CurrencyConverter(new Dictionary<string, decimal> { ["EUR"] = 0.9231m, ["jpy"] = 151.37m });
        Assert.Equal(0.00000045m * 0.9231m, rates.Convert(0.00000045m, "EUR"));
        Assert.Equal(151.37m * 12.5m, rates.Convert(12.5m, "JPY"));
        Assert.Equal(3m, rates.Convert(3m, "usd"));
        Assert.True(rates.IsKnown("eur"));
        Assert.False(rates.IsKnown("GBP"));
        Assert.Throws<ArgumentException>(() => rates.Convert(1m, "GBP"));
        var ex = Assert.Throws<ArgumentException>(() => new CurrencyConverter(new Dictionary<string, decimal> { ["EURO"] = 1m, ["GBP"] = 0m }));
        Assert.Contains("EURO", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GBP", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Anthropic_one_hour_cache_writes_survive_translation()
    {
        var usage = Gateway.Core.Providers.AnthropicTranslator.Usage(JsonNode.Parse("""
            {"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":300,
             "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}
            """));
        Assert.Equal(new Gateway.Core.Protocol.TokenUsage(410, 5, 100, 300, 0, 200), usage);
        var json = usage.ToJson();
        Assert.Equal(200, (int?)json["prompt_tokens_details"]?["cache_write_1h_tokens"]);
        Assert.Equal(usage, Gateway.Core.Protocol.TokenUsage.FromOpenAi(json));
    }
}
