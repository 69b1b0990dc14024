using System.Globalization;
using System.Text;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Pricing;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Configuration;

/// <summary>The catalog admin API's rules: If-Match on every change, 400 listing every problem, 412 when someone changed it first.</summary>
public sealed class CatalogAdministrationTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T09:00:00Z", CultureInfo.InvariantCulture));
    private readonly MemoryDocumentStore _store = new();

    private CatalogAdministration Admin()
    {
        var configured = new CatalogOptions
        {
            Deployments = [new DeploymentOptions { Name = "mock-d", Provider = "mock" }],
            Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock-d"] }],
        };
        var catalogs = new ModelCatalogHolder(configured, TestSecrets.None, new PriceCatalogHolder(PriceCatalog.Default), _time);
        return new CatalogAdministration(catalogs, new DocumentSync(catalogs, _store));
    }

    private static byte[] Body(string json) => Encoding.UTF8.GetBytes(json);

    private const string WithAlias = """{ "Deployments": [ { "Name": "mock-d", "Provider": "mock" } ], "Models": [ { "Name": "mock-1", "Aliases": ["m"], "Deployments": ["mock-d"] } ] }""";

    [Fact]
    public async Task A_change_without_If_Match_is_428_and_changes_nothing()
    {
        var admin = Admin();
        foreach (var ifMatch in new[] { null, "", "  " })
        {
            Assert.Equal((428, "precondition_required", "If-Match"), Error(await Assert.ThrowsAsync<GatewayException>(() => admin.ReplaceAsync(Body(WithAlias), ifMatch, default))));
            Assert.Equal(428, (await Assert.ThrowsAsync<GatewayException>(() => admin.RevertAsync(ifMatch, default))).Error.Status);
        }

        Assert.Equal(0, _store.Saves);
    }

    [Fact]
    public async Task An_invalid_catalog_is_400_listing_every_problem_and_nothing_is_stored()
    {
        var admin = Admin();
        var ex = await Assert.ThrowsAsync<GatewayException>(() => admin.ReplaceAsync(Body("""
            { "Deployments": [ { "Name": "a", "Provider": "gemini" }, { "Name": "b", "Provider": "mock", "Weight": -1 } ],
              "Models": [ { "Name": "m", "Deployments": ["c"] } ] }
            """), ModelCatalogHolder.ConfigurationETag, default));
        Assert.Equal((400, "invalid_catalog", "catalog"), Error(ex));
        var errors = ex.Error.InnerError!["errors"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("Deployments:0 ('a'):Provider 'gemini' is not known", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Deployments:1 ('b'):Weight must be at least 1", errors[1], StringComparison.Ordinal);
        Assert.StartsWith("Models:0 ('m'):Deployments names 'c'", errors[2], StringComparison.Ordinal);
        Assert.All(errors, e => Assert.Contains(e, ex.Error.Message, StringComparison.Ordinal));
        Assert.Contains("the one in force is unchanged", ex.Error.Message, StringComparison.Ordinal);
        Assert.Equal("configuration", (string?)admin.Describe()["source"]);
        Assert.Equal(0, _store.Saves);

        var notUtf8 = await Assert.ThrowsAsync<GatewayException>(() => admin.ReplaceAsync([0xff, 0xfe], "*", default));
        Assert.Equal((400, "invalid_catalog", "catalog"), Error(notUtf8));
    }

    [Fact]
    public async Task Changes_name_the_version_they_replace_and_a_stale_one_is_412()
    {
        var admin = Admin();
        var shown = admin.Describe();
        Assert.Equal(("configuration", ModelCatalogHolder.ConfigurationETag), ((string?)shown["source"], (string?)shown["etag"]));
        Assert.False(shown.ContainsKey("stored_at"));

        var replaced = await admin.ReplaceAsync(Body(WithAlias), (string)shown["etag"]!, default);
        Assert.Equal(("replacement", "\"etag-1\""), ((string?)replaced["source"], (string?)replaced["etag"]));
        Assert.Equal((1, 1), ((int)replaced["models"]!, (int)replaced["deployments"]!));
        Assert.True(admin.Holder.Current.TryResolve("m", out _));

        // a second admin who read the configured catalog before that change is told so, with the version now in force
        var stale = await Assert.ThrowsAsync<GatewayException>(() => admin.ReplaceAsync(Body(WithAlias), ModelCatalogHolder.ConfigurationETag, default));
        Assert.Equal((412, "catalog_changed", "If-Match"), Error(stale));
        Assert.Contains("\"etag-1\"", stale.Error.Message, StringComparison.Ordinal);
        Assert.Equal(412, (await Assert.ThrowsAsync<GatewayException>(() => admin.RevertAsync("\"etag-0\"", default))).Error.Status);
        Assert.Equal(1, _store.Saves);

        // what GET shows can be sent back as it is
        var again = await admin.ReplaceAsync(Body(admin.Describe()["catalog"]!.ToJsonString()), "\"etag-1\"", default);
        Assert.Equal("\"etag-2\"", (string?)again["etag"]);
        // * replaces whatever is stored
        Assert.Equal("\"etag-3\"", (string?)(await admin.ReplaceAsync(Body(WithAlias), "*", default))["etag"]);

        var reverted = await admin.RevertAsync("\"etag-3\"", default);
        Assert.Equal(("configuration", ModelCatalogHolder.ConfigurationETag), ((string?)reverted["source"], (string?)reverted["etag"]));
        Assert.Null(_store.Stored);
        Assert.False(admin.Holder.Current.TryResolve("m", out _));
    }

    private static (int, string?, string?) Error(GatewayException ex) => (ex.Error.Status, ex.Error.Code, ex.Error.Param);

    [Fact]
    public async Task Going_back_is_refused_while_the_prices_in_force_cannot_price_the_configured_catalog()
    {
        var configured = new CatalogOptions
        {
            Deployments = [new DeploymentOptions { Name = "openai-main", Provider = "openai", Model = "gpt-4o", ApiKeySetting = "OPENAI_KEY" }],
            Models = [new ModelOptions { Name = "gpt-4o", Deployments = ["openai-main"] }],
        };
        ModelCatalogHolder? catalogs = null;
        var prices = new PriceCatalogHolder(PriceCatalog.Default, () => catalogs!.Current.Deployments, _time);
        catalogs = new ModelCatalogHolder(configured, TestSecrets.Upstream, prices, _time);
        var admin = new CatalogAdministration(catalogs, new DocumentSync(catalogs, _store));
        var replaced = await admin.ReplaceAsync(Body(WithAlias), "*", default);
        prices.Replace("""
            { "version": "mock-only", "currency": "USD", "unit": "per_million_tokens",
              "providers": { "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 2 } ] } } } } }
            """);

        var ex = await Assert.ThrowsAsync<GatewayException>(() => admin.RevertAsync((string)replaced["etag"]!, default));
        Assert.Equal((400, "invalid_catalog"), (ex.Error.Status, ex.Error.Code));
        Assert.StartsWith("Gateway:Catalog:Deployments:0 ('openai-main'):Pricing", (string?)ex.Error.InnerError!["errors"]![0], StringComparison.Ordinal);
        Assert.Equal(("replacement", (string?)replaced["etag"]), ((string?)admin.Describe()["source"], _store.Stored?.ETag));
    }
}
