using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Storage;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// The model catalog replaced on the real host: through the admin API (with If-Match), through its blob (installed by
/// the host's refresher within Gateway__CatalogRefreshSeconds), a bad one refused with every problem while the one in
/// force keeps serving, the change in the audit log, and the configured catalog back at the end.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class CatalogTests(HostFixture fixture)
{
    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private Task<Reply> Chat(string model) =>
        fixture.ChatAsync(fixture.Keys["main"].Key, $$"""{"model":"{{model}}","max_tokens":20,"messages":[{"role":"user","content":"which deployment?"}]}""");

    private Task<Reply> Send(HttpMethod method, string? json, string? ifMatch) =>
        fixture.SendAsync(method, "gateway/catalog", HostFixture.AdminKey, json, ifMatch is null ? null : new Dictionary<string, string> { ["If-Match"] = ifMatch });

    /// <summary>The catalog shown by GET with a deployment on the loopback upstream added, and a model (with an alias) served by it.</summary>
    private static JsonObject WithModel(JsonNode shown, string deployment, string model, string alias)
    {
        var catalog = shown["catalog"]!.DeepClone().AsObject();
        var upstream = catalog["Deployments"]!.AsArray().Single(d => (string?)d!["Name"] == "upstream")!;
        catalog["Deployments"]!.AsArray().Add(new JsonObject
        {
            ["Name"] = deployment, ["Provider"] = "openai", ["Model"] = "gpt-4o", ["Endpoint"] = upstream["Endpoint"]!.DeepClone(), ["ApiKeySetting"] = "E2E_UPSTREAM_KEY",
        });
        catalog["Models"]!.AsArray().Add(new JsonObject { ["Name"] = model, ["Aliases"] = new JsonArray(alias), ["Deployments"] = new JsonArray(deployment) });
        return catalog;
    }

    [HostFact]
    public async Task A_replaced_catalog_serves_the_next_requests_a_bad_one_is_refused_and_the_configured_one_comes_back()
    {
        var from = Iso(DateTimeOffset.UtcNow.AddHours(-1));
        var shown = await fixture.AdminAsync(HttpMethod.Get, "gateway/catalog");
        Assert.True(shown.Status == 200, shown.ToString());
        Assert.Equal("configuration", (string?)shown.Json!["source"]);
        var configured = shown.Header("etag");
        Assert.Equal(ModelCatalogHolder.ConfigurationETag, configured);
        Assert.Equal(404, (await Chat("house")).Status);

        try
        {
            // replaced through the API: a new deployment on the loopback upstream, reached by a new model's alias
            var put = await Send(HttpMethod.Put, WithModel(shown.Json!, "upstream-b", "house-model", "house").ToJsonString(), configured);
            Assert.True(put.Status == 200, put.ToString());
            var version = put.Header("etag");
            Assert.Equal(("replacement", version), ((string?)put.Json!["source"], (string?)put.Json!["etag"]));
            var served = await HostFixture.EventuallyAsync(() => Chat("house"), r => r.Status == 200, TimeSpan.FromSeconds(20), "the new model serving");
            Assert.Equal(("upstream-b", "house-model"), (served.Header("x-gateway-deployment"), served.Header("x-gateway-model")));
            Assert.Equal("gpt-4o", (string?)JsonNode.Parse(fixture.Upstream.Requests[^1].Body)!["model"]);
            Assert.Equal(200, (await Chat("gpt-4o-mini")).Status);
            var listed = await fixture.SendAsync(HttpMethod.Get, "v1/models", fixture.Keys["main"].Key);
            Assert.Contains(listed.Json!["data"]!.AsArray(), m => (string?)m!["id"] == "house-model");

            // a bad catalog: 400 with every problem, and the catalog in force keeps serving
            var bad = WithModel((await fixture.AdminAsync(HttpMethod.Get, "gateway/catalog")).Json!, "upstream-c", "other-model", "other");
            bad["Deployments"]!.AsArray()[^1]!["Endpoint"] = "http://127.0.0.1:1/v1";
            bad["Deployments"]!.AsArray()[^1]!["Weight"] = 0;
            bad["Models"]!.AsArray()[^1]!["Fallbacks"] = new JsonArray("nowhere");
            var refused = await Send(HttpMethod.Put, bad.ToJsonString(), version);
            Assert.Equal((400, "invalid_catalog"), (refused.Status, refused.ErrorCode));
            var errors = refused.Json!["error"]!["innererror"]!["errors"]!.AsArray().Select(e => (string)e!).ToList();
            Assert.Equal(3, errors.Count);
            Assert.Contains(errors, e => e.EndsWith("('upstream-c'):Weight must be at least 1 (was 0).", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.EndsWith("('other-model'):Fallbacks names 'nowhere', which is not a configured model.", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("('upstream-c'):Endpoint: the configured catalog sends the key in setting 'E2E_UPSTREAM_KEY' only to", StringComparison.Ordinal));
            Assert.DoesNotContain("sk-upstream-test", refused.Text, StringComparison.Ordinal);
            Assert.Equal(200, (await Chat("house")).Status);
            Assert.Equal(version, (await fixture.AdminAsync(HttpMethod.Get, "gateway/catalog")).Header("etag"));
            // a change naming a version no longer in force is refused
            Assert.Equal(412, (await Send(HttpMethod.Put, WithModel(shown.Json!, "upstream-b", "house-model", "house").ToJsonString(), configured)).Status);
            Assert.Equal(428, (await Send(HttpMethod.Put, WithModel(shown.Json!, "upstream-b", "house-model", "house").ToJsonString(), null)).Status);

            // uploaded to the blob directly: the host's refresher installs it within its interval
            var blob = new BlobDocumentStore(StorageConnection.FromConnectionString(fixture.Storage).Blob("gateway-config/catalog.json"));
            var uploaded = await blob.SaveAsync(WithModel(shown.Json!, "upstream-d", "direct-model", "direct").ToJsonString(), DocumentCondition.Matches(version!), default);
            var direct = await HostFixture.EventuallyAsync(() => Chat("direct"), r => r.Status == 200, TimeSpan.FromSeconds(30), "the uploaded catalog serving");
            Assert.Equal("upstream-d", direct.Header("x-gateway-deployment"));
            Assert.Equal(404, (await Chat("house")).Status);
            Assert.Equal(uploaded.ETag, (await fixture.AdminAsync(HttpMethod.Get, "gateway/catalog")).Header("etag"));

            // back to the configured catalog
            var deleted = await Send(HttpMethod.Delete, null, uploaded.ETag);
            Assert.True(deleted.Status == 200, deleted.ToString());
            Assert.Equal("configuration", (string?)deleted.Json!["source"]);
            Assert.Equal(404, (await Chat("direct")).Status);
            Assert.Equal(200, (await Chat("gpt-4o-mini")).Status);
        }
        finally
        {
            // whatever happened, the other tests get the configured catalog
            if ((string?)(await fixture.AdminAsync(HttpMethod.Get, "gateway/catalog")).Json?["source"] != "configuration") await Send(HttpMethod.Delete, null, "*");
        }

        // the audit log has the replacement and the return, with the versions, made by the admin
        var to = Iso(DateTimeOffset.UtcNow.AddHours(1));
        var events = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/events?from={from}&to={to}&type=admin.catalog.replaced"),
            r => r.Status == 200 && r.Json!.AsArray().Count > 0, TimeSpan.FromSeconds(30), "the catalog replacement reaching the audit log");
        var replaced = events.Json!.AsArray()[^1]!;
        Assert.Equal("catalog", (string?)replaced["target"]);
        Assert.Equal("configuration", (string?)replaced["before"]!["source"]);
        Assert.Equal("replacement", (string?)replaced["after"]!["source"]);
        Assert.Contains("house-model", replaced["after"]!["models"]!.AsArray().Select(m => (string?)m));
        Assert.StartsWith("admin", (string?)replaced["actor"], StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-test", events.Text, StringComparison.Ordinal);
        await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/events?from={from}&to={to}&type=admin.catalog.reverted"),
            r => r.Status == 200 && r.Json!.AsArray().Count > 0, TimeSpan.FromSeconds(30), "the return to the configured catalog reaching the audit log");
    }
}
