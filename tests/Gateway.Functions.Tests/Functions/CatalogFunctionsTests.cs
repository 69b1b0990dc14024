using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Configuration;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Functions.Tests.Functions;

/// <summary>
/// The model catalog admin API over a real blob (Azurite): show, replace with If-Match, refuse an invalid catalog
/// listing every problem, go back to the configured one — and a second instance's refresher following each change.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class CatalogFunctionsTests(AzuriteFixture azurite)
{
    /// <summary>The test gateway's catalog with an alias for mock-1 and a new deployment serving it.</summary>
    private const string Replacement = """
        { "Deployments": [ { "Name": "mock", "Provider": "mock", "Model": "mock-1" }, { "Name": "mock-b", "Provider": "mock", "Model": "mock-2", "MockCompletionTokens": 4 },
                           { "Name": "mock-new", "Provider": "mock", "Model": "mock-new", "MockCompletionTokens": 2 } ],
          "Models": [ { "Name": "mock-1", "Aliases": ["mock", "house-model"], "Deployments": ["mock-new"] }, { "Name": "mock-2", "Deployments": ["mock-b"] } ] }
        """;

    private sealed record Instance(TestGateway Gateway, CatalogFunctions Functions, CatalogAdministration Admin, InMemoryAuditSink Audit);

    private static Instance Start(BlobDocumentStore store)
    {
        var audit = new InMemoryAuditSink();
        var gateway = new TestGateway(audit: audit);
        var admin = new CatalogAdministration(gateway.Runtime.Catalogs, new DocumentSync(gateway.Runtime.Catalogs, store));
        return new Instance(gateway, new CatalogFunctions(gateway.Runtime, admin), admin, audit);
    }

    private static async Task<(int Status, JsonObject Body, string? ETag)> Call(Func<HttpRequest, Task<IActionResult>> function, string method,
        string? body = null, string? ifMatch = null, string? adminKey = TestGateway.AdminKey)
    {
        var headers = new Dictionary<string, string>();
        if (adminKey is not null) headers["x-admin-key"] = adminKey;
        if (ifMatch is not null) headers["If-Match"] = ifMatch;
        var context = TestGateway.Request(method, "/gateway/catalog", body, headers: headers);
        await function(context.Request);
        var etag = context.Response.Headers.ETag.ToString();
        return (context.Response.StatusCode, JsonNode.Parse(TestGateway.ResponseText(context))!.AsObject(), etag.Length == 0 ? null : etag);
    }

    private static async Task<(int Status, string? Deployment)> Chat(TestGateway gateway, string key, string model)
    {
        var context = TestGateway.Request("POST", "/v1/chat/completions", $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", key);
        await gateway.Chat.Run(context.Request);
        return (context.Response.StatusCode, context.Response.Headers["x-gateway-deployment"].ToString() is { Length: > 0 } d ? d : null);
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task The_catalog_is_shown_replaced_refused_when_invalid_and_put_back_and_a_second_instance_follows()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var blob = $"{azurite.UniqueName("cfg").ToLowerInvariant()}/catalog.json";
        var a = Start(new BlobDocumentStore(connection.Blob(blob)));
        var b = Start(new BlobDocumentStore(connection.Blob(blob)));
        using var refresher = new DocumentRefresher(b.Admin.Sync, TimeSpan.FromSeconds(1), TimeProvider.System, NullLogger<DocumentRefresher>.Instance);
        await refresher.StartAsync(default);
        var keyA = await a.Gateway.CreateKeyAsync();
        var keyB = await b.Gateway.CreateKeyAsync();

        var (status, shown, etag) = await Call(a.Functions.Get, "GET");
        Assert.Equal(200, status);
        Assert.Equal(("configuration", ModelCatalogHolder.ConfigurationETag, ModelCatalogHolder.ConfigurationETag), ((string?)shown["source"], (string?)shown["etag"], etag));
        Assert.Equal("mock-1", (string?)shown["catalog"]!["Models"]![0]!["Name"]);
        Assert.Equal(401, (await Call(a.Functions.Get, "GET", adminKey: null)).Status);
        Assert.Equal(401, (await Call(a.Functions.Put, "PUT", Replacement, "*", adminKey: "sk-wrong")).Status);
        Assert.Equal(404, (await Chat(a.Gateway, keyA, "house-model")).Status);

        // without If-Match: 428, whatever the body
        var (noMatch, noMatchBody, _) = await Call(a.Functions.Put, "PUT", Replacement);
        Assert.Equal((428, "precondition_required"), (noMatch, (string?)noMatchBody["error"]!["code"]));

        // invalid: 400 naming every problem; nothing is stored and the catalog in force stays
        var (bad, badBody, _) = await Call(a.Functions.Put, "PUT", """
            { "Deployments": [ { "Name": "x", "Provider": "mock", "Weight": 0 }, { "Name": "y", "Provider": "openai", "Model": "gpt-4o", "ApiKeySetting": "UNSET_KEY" } ],
              "Models": [ { "Name": "m", "Deployments": ["x", "z"] } ] }
            """, etag);
        Assert.Equal((400, "invalid_catalog"), (bad, (string?)badBody["error"]!["code"]));
        var errors = badBody["error"]!["innererror"]!["errors"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Contains("Deployments:0 ('x'):Weight must be at least 1 (was 0).", errors);
        Assert.Contains("Deployments:1 ('y'):ApiKeySetting names the setting 'UNSET_KEY', which is not set.", errors);
        Assert.Contains("Models:0 ('m'):Deployments names 'z', which is not a configured deployment.", errors);
        Assert.Contains(errors, e => e.StartsWith("Deployments:1 ('y'):ApiKeySetting 'UNSET_KEY' is not a key setting of the configured catalog", StringComparison.Ordinal));
        Assert.Equal(4, errors.Count);
        Assert.False(await connection.Blob(blob).ExistsAsync());
        Assert.Equal("configuration", (string?)(await Call(a.Functions.Get, "GET")).Body["source"]);

        // valid, naming the version read: stored, in force here at once, and on the other instance within its refresh
        var (put, putBody, putETag) = await Call(a.Functions.Put, "PUT", Replacement, etag);
        Assert.Equal(200, put);
        Assert.Equal(("replacement", putETag), ((string?)putBody["source"], (string?)putBody["etag"]));
        Assert.Equal((await connection.Blob(blob).GetPropertiesAsync()).Value.ETag.ToString(), putETag);
        Assert.Equal((200, "mock-new"), await Chat(a.Gateway, keyA, "house-model"));
        await Eventually(() => b.Gateway.Runtime.Catalogs.InForce.ETag == putETag, "the second instance installing the replacement");
        Assert.Equal((200, "mock-new"), await Chat(b.Gateway, keyB, "house-model"));
        var onB = await Call(b.Functions.Get, "GET");
        Assert.Equal(("replacement", putETag, putETag), ((string?)onB.Body["source"], (string?)onB.Body["etag"], onB.ETag));
        Assert.NotNull((string?)onB.Body["stored_at"]);

        // a second admin still holding the configured catalog's version is refused
        var (stale, staleBody, _) = await Call(b.Functions.Put, "PUT", Replacement, ModelCatalogHolder.ConfigurationETag);
        Assert.Equal((412, "catalog_changed"), (stale, (string?)staleBody["error"]!["code"]));
        Assert.Equal(412, (await Call(b.Functions.Delete, "DELETE", ifMatch: "\"0x0\"")).Status);

        // DELETE with the version in force: the configured catalog is back here, and there at its next refresh
        var (deleted, deletedBody, deletedETag) = await Call(b.Functions.Delete, "DELETE", ifMatch: putETag);
        Assert.Equal((200, "configuration", ModelCatalogHolder.ConfigurationETag), (deleted, (string?)deletedBody["source"], deletedETag));
        Assert.False(await connection.Blob(blob).ExistsAsync());
        Assert.Equal(404, (await Chat(b.Gateway, keyB, "house-model")).Status);
        Assert.Equal(DocumentRefreshOutcome.Reverted, (await a.Admin.Sync.RefreshAsync(default)).Outcome);
        Assert.Equal((200, "mock"), await Chat(a.Gateway, keyA, "mock-1"));
        await refresher.StopAsync(default);

        // each change that took effect is in its instance's audit log, with the versions before and after, no secret
        var replaced = Assert.Single(a.Audit.Events, e => e.Type == AuditEventTypes.CatalogReplaced);
        Assert.Equal(("catalog", "configuration", "replacement", putETag), (replaced.Target, (string?)replaced.Before!["source"], (string?)replaced.After!["source"], (string?)replaced.After!["etag"]));
        Assert.Equal(["mock", "mock-b", "mock-new"], replaced.After!["deployments"]!.AsArray().Select(d => (string?)d));
        var reverted = Assert.Single(b.Audit.Events, e => e.Type == AuditEventTypes.CatalogReverted);
        Assert.Equal(("replacement", "configuration"), ((string?)reverted.Before!["source"], (string?)reverted.After!["source"]));
        Assert.DoesNotContain(b.Audit.Events, e => e.Type == AuditEventTypes.CatalogReplaced);
        // going back while the configured catalog is in force changes nothing and is not recorded
        Assert.Equal(200, (await Call(a.Functions.Delete, "DELETE", ifMatch: "*")).Status);
        Assert.DoesNotContain(a.Audit.Events, e => e.Type == AuditEventTypes.CatalogReverted);
    }

    [Fact]
    public async Task A_catalog_uploaded_to_the_blob_directly_is_installed_and_a_broken_one_is_ignored()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var blob = $"{azurite.UniqueName("cfg").ToLowerInvariant()}/catalog.json";
        var store = new BlobDocumentStore(connection.Blob(blob));
        var instance = Start(store);
        var sync = instance.Admin.Sync;
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await sync.RefreshAsync(default)).Outcome);

        var uploaded = await new BlobDocumentStore(connection.Blob(blob)).SaveAsync(Replacement, DocumentCondition.Any, default);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await sync.RefreshAsync(default)).Outcome);
        Assert.Equal(uploaded.ETag, instance.Gateway.Runtime.Catalogs.InForce.ETag);
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await sync.RefreshAsync(default)).Outcome);

        await new BlobDocumentStore(connection.Blob(blob)).SaveAsync("""{ "Deployments": [], "Models": [] }""", DocumentCondition.Any, default);
        var (outcome, errors) = await sync.RefreshAsync(default);
        Assert.Equal(DocumentRefreshOutcome.Rejected, outcome);
        Assert.Equal(["Models is empty: configure at least one model (the shipped catalog.json has the offline 'mock-1')."], errors);
        Assert.Equal(uploaded.ETag, instance.Gateway.Runtime.Catalogs.InForce.ETag);
        // refused once, then quietly: the log is not filled with the same refusal
        Assert.Equal(DocumentRefreshOutcome.Unchanged, (await sync.RefreshAsync(default)).Outcome);

        // the store's conditions, as the admin API relies on them
        await Assert.ThrowsAsync<DocumentConflictException>(() => store.SaveAsync(Replacement, DocumentCondition.Absent, default));
        await Assert.ThrowsAsync<DocumentConflictException>(() => store.SaveAsync(Replacement, DocumentCondition.Matches(uploaded.ETag), default));
        await Assert.ThrowsAsync<DocumentConflictException>(() => store.DeleteAsync(DocumentCondition.Matches(uploaded.ETag), default));
        await Assert.ThrowsAsync<DocumentConflictException>(() => store.DeleteAsync(DocumentCondition.Absent, default));
        Assert.True(await store.DeleteAsync(DocumentCondition.Any, default));
        Assert.False(await store.DeleteAsync(DocumentCondition.Any, default));
        Assert.False(await store.DeleteAsync(DocumentCondition.Absent, default));
        await Assert.ThrowsAsync<DocumentConflictException>(() => store.SaveAsync(Replacement, DocumentCondition.Matches(uploaded.ETag), default));
        Assert.NotNull((await store.SaveAsync(Replacement, DocumentCondition.Absent, default)).StoredAt);
        Assert.Equal(DocumentReadStatus.Changed, (await store.ReadAsync(null, default)).Status);
    }
}
