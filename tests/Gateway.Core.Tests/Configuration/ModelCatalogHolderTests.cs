using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Configuration;

/// <summary>
/// The model catalog replaced at runtime: validated first (every problem with its path, the one in force unchanged),
/// swapped atomically, checked against the prices in force (and they against it), credentials kept where the
/// configured catalog sends them, the configured catalog back when the replacement is deleted.
/// </summary>
public sealed class ModelCatalogHolderTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-01T09:00:00Z", CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _time = new(Now);

    /// <summary>Prices for mock and gpt-4o on openai only (no openai-compatible model is priced).</summary>
    private const string SmallPrices = """
        { "version": "small", "currency": "USD", "unit": "per_million_tokens", "providers": {
            "openai": { "models": { "gpt-4o": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 2.5, "output": 10 } ] } } },
            "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 2 } ] } } } } }
        """;

    private const string MockOnlyPrices = """
        { "version": "mock-only", "currency": "USD", "unit": "per_million_tokens", "providers": {
            "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 2 } ] } } } } }
        """;

    /// <summary>The configured catalog: OpenAI's gpt-4o with the key in OPENAI_KEY (default endpoint), and the mock.</summary>
    private static CatalogOptions Configured() => new()
    {
        Deployments =
        [
            new DeploymentOptions { Name = "openai-main", Provider = "openai", Model = "gpt-4o", ApiKeySetting = "OPENAI_KEY" },
            new DeploymentOptions { Name = "mock-d", Provider = "mock" },
        ],
        Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["openai-main"] }, new ModelOptions { Name = "mock-1", Deployments = ["mock-d"] }],
    };

    /// <summary>A holder over the configured catalog, with a price holder that checks replacements against the catalog in force.</summary>
    private (ModelCatalogHolder Catalogs, PriceCatalogHolder Prices) Holders(string? prices = null)
    {
        ModelCatalogHolder? catalogs = null;
        var priceHolder = new PriceCatalogHolder(prices is null ? PriceCatalog.Default : PriceCatalog.Parse(prices), () => catalogs!.Current.Deployments, _time);
        catalogs = new ModelCatalogHolder(Configured(), TestSecrets.Upstream, priceHolder, _time);
        return (catalogs, priceHolder);
    }

    private static string Document(params (string Name, string Json)[] extraDeployments) =>
        $$"""
        { "Deployments": [ { "Name": "openai-main", "Provider": "openai", "Model": "gpt-4o", "ApiKeySetting": "OPENAI_KEY" }, { "Name": "mock-d", "Provider": "mock" }
            {{string.Concat(extraDeployments.Select(d => "," + d.Json))}} ],
          "Models": [ { "Name": "gpt-4o", "Aliases": ["four-o"], "Deployments": ["openai-main"] }, { "Name": "mock-1", "Deployments": ["mock-d"{{string.Concat(extraDeployments.Select(d => ",\"" + d.Name + "\""))}}] } ] }
        """;

    [Fact]
    public void An_invalid_replacement_lists_every_problem_with_its_path_and_the_catalog_in_force_stays()
    {
        var (catalogs, _) = Holders();
        var before = catalogs.InForce;
        var ex = Assert.Throws<CatalogRejectedException>(() => catalogs.Install(new StoredDocument("""
            { "Deployments": [
                { "Name": "openai-main", "Provider": "openai", "Model": "gpt-4o", "ApiKeySetting": "OPENAI_KEY", "Weight": 0 },
                { "Name": "aoai", "Provider": "azure-openai", "Model": "chat-prod", "Endpoint": "https://other.openai.azure.com", "Auth": "entra" },
                { "Name": "leak", "Provider": "openai", "Model": "gpt-4o", "ApiKeySetting": "OPENAI_KEY", "Endpoint": "https://collector.example/v1" },
                { "Name": "storage", "Provider": "openai-compatible", "Model": "x", "ApiKeySetting": "AzureWebJobsStorage", "Endpoint": "http://127.0.0.1:9/v1", "Pricing": { "Free": true } }
              ],
              "Models": [ { "Name": "m", "Deployments": ["openai-main", "nope"], "Fallbacks": ["ghost"] } ] }
            """, "\"v1\"")));

        Assert.Equal(
        [
            "Deployments:0 ('openai-main'):Weight must be at least 1 (was 0).",
            "Deployments:1 ('aoai'):ApiVersion is required for provider 'azure-openai' (for example 2024-10-21).",
            "Models:0 ('m'):Deployments names 'nope', which is not a configured deployment.",
            "Models:0 ('m'):Fallbacks names 'ghost', which is not a configured model.",
            "Deployments:1 ('aoai'):Auth 'entra': the configured catalog sends the app's Entra ID token nowhere, so a replacement cannot either (configure the deployment in the app settings).",
            "Deployments:2 ('leak'):Endpoint: the configured catalog sends the key in setting 'OPENAI_KEY' only to https://api.openai.com:443; a replacement cannot send it to https://collector.example:443.",
            "Deployments:3 ('storage'):ApiKeySetting 'AzureWebJobsStorage' is not a key setting of the configured catalog: a replacement may use only those (add a deployment with it to the app settings' catalog first).",
        ], ex.Errors.Take(7));
        Assert.StartsWith("Deployments:1 ('aoai'):Pricing: the pricing catalog has no price for model 'chat-prod' of provider 'azure-openai'", Assert.Single(ex.Errors.Skip(7)), StringComparison.Ordinal);
        Assert.Same(before, catalogs.InForce);
        Assert.Same(before.Catalog, catalogs.Current);
        Assert.Throws<CatalogRejectedException>(() => catalogs.Validate("{\"Deployments\":[],\"Models\":[]}"));
    }

    [Fact]
    public void A_valid_replacement_is_in_force_with_its_version_and_the_configured_catalog_comes_back()
    {
        var (catalogs, _) = Holders();
        Assert.Equal((CatalogSource.Configuration, ModelCatalogHolder.ConfigurationETag, null), (catalogs.InForce.Source, catalogs.InForce.ETag, catalogs.StoredETag));
        Assert.False(catalogs.Current.TryResolve("four-o", out _));

        var stored = Now.AddMinutes(-3);
        _time.Advance(TimeSpan.FromSeconds(10));
        catalogs.Install(new StoredDocument(Document(("local", """{ "Name": "local", "Provider": "openai-compatible", "Model": "llama", "Endpoint": "http://10.0.0.5:8000/v1", "Pricing": { "Free": true } }""")), "\"v1\"", stored));
        var inForce = catalogs.InForce;
        Assert.Equal((CatalogSource.Replacement, "\"v1\"", stored, Now.AddSeconds(10)), (inForce.Source, inForce.ETag, inForce.StoredAt, inForce.InstalledAt));
        Assert.Equal("\"v1\"", catalogs.StoredETag);
        Assert.Equal("gpt-4o", catalogs.Current.Resolve("four-o").Name);
        Assert.Equal(["mock-d", "local"], catalogs.Current.Resolve("mock-1").Deployments.Select(d => d.Name));
        Assert.Equal(64, inForce.Sha256.Length);

        catalogs.Revert();
        Assert.Equal((CatalogSource.Configuration, ModelCatalogHolder.ConfigurationETag), (catalogs.InForce.Source, catalogs.InForce.ETag));
        Assert.False(catalogs.Current.TryResolve("four-o", out _));
        // the configured definitions themselves come back (their provider clients with them)
        Assert.Same(catalogs.Current.Resolve("gpt-4o").Deployments[0], catalogs.Current.Resolve("gpt-4o").Deployments[0]);
    }

    [Fact]
    public async Task The_swap_is_atomic_a_reader_sees_one_whole_catalog_or_the_other()
    {
        var (catalogs, _) = Holders();
        static string Version(int v) => $$"""
            { "Deployments": [ { "Name": "d{{v}}", "Provider": "mock" } ],
              "Models": [ { "Name": "m", "Aliases": ["v{{v}}"], "Deployments": ["d{{v}}"] }, { "Name": "n{{v}}", "Deployments": ["d{{v}}"] } ] }
            """;
        catalogs.Install(new StoredDocument(Version(0), "\"0\""));
        using var done = new CancellationTokenSource();
        var reads = 0;
        var readers = Enumerable.Range(0, 3).Select(reader => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var seen = catalogs.InForce;
                var m = seen.Catalog.Resolve("m");
                var v = m.Aliases[0][1..];
                // the version tag, the alias, the deployment and the other model all belong to the same replacement
                Assert.Equal($"\"{v}\"", seen.ETag);
                Assert.Equal("d" + v, Assert.Single(m.Deployments).Name);
                Assert.True(seen.Catalog.TryResolve("n" + v, out _));
                Assert.Equal(2, seen.Catalog.Models.Count);
                Interlocked.Increment(ref reads);
            }
        })).ToList();

        for (var v = 1; v <= 200; v++)
        {
            catalogs.Install(new StoredDocument(Version(v), $"\"{v}\""));
            if (v % 20 == 0) await Task.Yield();
        }

        await done.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads > 0);
        Assert.Equal("\"200\"", catalogs.InForce.ETag);
    }

    [Fact]
    public void Each_catalog_must_be_priced_by_the_prices_in_force_and_each_price_catalog_must_price_the_catalog_in_force()
    {
        var (catalogs, prices) = Holders(SmallPrices);
        const string unpricedLocal = """{ "Name": "local", "Provider": "openai-compatible", "Model": "llama", "Endpoint": "http://10.0.0.5:8000/v1" }""";
        var ex = Assert.Throws<CatalogRejectedException>(() => catalogs.Install(new StoredDocument(Document(("local", unpricedLocal)), "\"v1\"")));
        Assert.StartsWith("Deployments:2 ('local'):Pricing: the pricing catalog has no price for model 'llama' of provider 'openai-compatible'", Assert.Single(ex.Errors), StringComparison.Ordinal);

        // prices of its own make it acceptable
        catalogs.Install(new StoredDocument(Document(("local", unpricedLocal.Replace("}", ", \"Pricing\": { \"Input\": 0.2, \"Output\": 0.6 } }", StringComparison.Ordinal))), "\"v2\""));

        // the pricing catalog in force may not drop gpt-4o while the catalog in force serves it…
        Assert.Contains("('openai-main')", Assert.Throws<PriceCatalogException>(() => prices.Replace(MockOnlyPrices)).Errors.Single(), StringComparison.Ordinal);
        // …but may once it no longer does
        catalogs.Install(new StoredDocument("""{ "Deployments": [ { "Name": "mock-d", "Provider": "mock" } ], "Models": [ { "Name": "mock-1", "Deployments": ["mock-d"] } ] }""", "\"v3\""));
        prices.Replace(MockOnlyPrices);

        // and then the configured catalog, which needs gpt-4o, cannot come back until it is priced again
        var refused = Assert.Throws<CatalogRejectedException>(catalogs.Revert);
        Assert.StartsWith("Gateway:Catalog:Deployments:0 ('openai-main'):Pricing", Assert.Single(refused.Errors), StringComparison.Ordinal);
        Assert.Throws<CatalogRejectedException>(catalogs.ValidateConfigured);
        Assert.Equal("\"v3\"", catalogs.InForce.ETag);
        prices.Replace(SmallPrices);
        catalogs.Revert();
        Assert.Equal(CatalogSource.Configuration, catalogs.InForce.Source);
    }

    [Fact]
    public void A_replacement_may_send_a_key_to_another_path_of_the_same_origin_and_point_credential_free_deployments_anywhere()
    {
        var (catalogs, _) = Holders();
        catalogs.Install(new StoredDocument(Document(
            ("second", """{ "Name": "second", "Provider": "openai", "Model": "gpt-4o", "ApiKeySetting": "openai_key", "Endpoint": "https://API.openai.com/v1/" }"""),
            ("vllm", """{ "Name": "vllm", "Provider": "openai-compatible", "Model": "llama", "Endpoint": "http://gpu-box:8000/v1", "Pricing": { "Free": true } }""")), "\"v1\""));
        Assert.Equal(4, catalogs.Current.Deployments.Count);
    }

    [Fact]
    public async Task Every_instance_follows_the_stored_catalog_and_goes_back_when_it_is_deleted()
    {
        var store = new MemoryDocumentStore();
        var (a, _) = Holders();
        var (b, pricesB) = Holders();
        using var instanceA = new DocumentSync(a, store);
        using var instanceB = new DocumentSync(b, store);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);

        var saved = await instanceA.ReplaceAsync(Document(), DocumentCondition.Absent, default);
        Assert.Equal(saved.ETag, a.InForce.ETag);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal((CatalogSource.Replacement, saved.ETag), (b.InForce.Source, b.InForce.ETag));
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);

        // a change that expects what is no longer stored changes nothing
        await Assert.ThrowsAsync<DocumentConflictException>(() => instanceA.ReplaceAsync(Document(), DocumentCondition.Absent, default));
        await Assert.ThrowsAsync<DocumentConflictException>(() => instanceA.RevertAsync(DocumentCondition.Matches("\"stale\""), default));
        Assert.Equal((saved.ETag, 1), (a.InForce.ETag, store.Saves));

        await instanceA.RevertAsync(DocumentCondition.Matches(saved.ETag), default);
        Assert.Null(store.Stored);
        Assert.Equal(CatalogSource.Configuration, a.InForce.Source);
        Assert.Equal(DocumentRefreshOutcome.Reverted, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal(CatalogSource.Configuration, b.InForce.Source);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);

        // a stored catalog refused for want of a price is installed once the prices arrive, without being stored again
        store.Stored = new StoredDocument(Document(("local", """{ "Name": "local", "Provider": "openai-compatible", "Model": "gpt-4o", "Endpoint": "http://10.0.0.5:8000/v1" }""")), "\"direct\"");
        var (outcome, errors) = await instanceB.RefreshAsync(default);
        Assert.Equal(DocumentRefreshOutcome.Rejected, outcome);
        Assert.Contains("('local'):Pricing", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await instanceB.RefreshAsync(default)).Outcome);
        pricesB.Replace("""
            { "version": "with-compatible", "currency": "USD", "unit": "per_million_tokens", "providers": {
                "openai": { "models": { "gpt-4o": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 2.5, "output": 10 } ] } } },
                "openai-compatible": { "models": { "gpt-4o": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 1 } ] } } },
                "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 2 } ] } } } } }
            """);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal("\"direct\"", b.InForce.ETag);
        Assert.Equal(1, store.Saves);
    }

    [Fact]
    public void The_catalog_in_force_is_shown_and_audited_without_secret_values()
    {
        var (catalogs, _) = Holders();
        catalogs.Install(new StoredDocument(Document(), "\"v1\""));
        var admin = new CatalogAdministration(catalogs, new DocumentSync(catalogs, new MemoryDocumentStore()));
        var shown = admin.Describe();
        Assert.Equal("replacement", (string?)shown["source"]);
        Assert.Equal("OPENAI_KEY", (string?)shown["catalog"]!["Deployments"]![0]!["ApiKeySetting"]);
        var audited = admin.AuditView();
        Assert.Equal(catalogs.InForce.Sha256, (string?)audited["sha256"]);
        Assert.Equal(["gpt-4o", "mock-1"], audited["models"]!.AsArray().Select(n => (string?)n));
        // TestSecrets.Upstream resolves every setting to this value
        Assert.DoesNotContain("sk-upstream-test", shown.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-test", audited.ToJsonString(), StringComparison.Ordinal);
        _ = JsonNode.Parse(catalogs.InForce.Json);
    }
}
