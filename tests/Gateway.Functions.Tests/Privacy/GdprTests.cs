using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Gateway.Core.Audit;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Privacy;
using Gateway.Core.Usage;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Functions.Tests.Privacy;

/// <summary>
/// An end user's export and erasure on Azurite through the function classes: two users' requests go through the chat
/// function, the usage writer and the rollup job into Table Storage, their deterministic answers into the Blob Storage
/// cache; one user is exported and erased, the other is left exactly as they were.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class GdprTests(AzuriteFixture azurite)
{
    private static readonly SubjectHasher Hasher = new("an integration-test pepper of 32+ characters"u8.ToArray());

    private static async Task<(int Status, string Text)> CallAsync(Func<HttpRequest, string, Task<Microsoft.AspNetCore.Mvc.IActionResult>> function, string method, string id)
    {
        var context = TestGateway.Request(method, $"/gateway/users/{id}/data", headers: new Dictionary<string, string> { ["x-admin-key"] = TestGateway.AdminKey });
        await function(context.Request, id);
        return (context.Response.StatusCode, TestGateway.ResponseText(context));
    }

    private static async Task<List<(string, string, string)>> RowsAsync(TableClient table)
    {
        var rows = new List<(string, string, string)>();
        await foreach (var e in table.QueryAsync<TableEntity>())
            rows.Add((e.PartitionKey, e.RowKey, string.Join(";", e.Where(kv => kv.Key is not ("Timestamp" or "odata.etag")).OrderBy(kv => kv.Key).Select(kv => kv.Key + "=" + kv.Value))));
        return [.. rows.Order()];
    }

    private static async Task<List<UsageRecord>> RecordsOfAsync(TableUsageStore store, string user)
    {
        var list = new List<UsageRecord>();
        await foreach (var r in store.ReadUserAsync(user, default)) list.Add(r);
        return list;
    }

    [Fact]
    public async Task One_user_is_exported_and_erased_and_the_other_is_left_untouched()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var prefix = azurite.UniqueName("gdpr").ToLowerInvariant();
        var services = new UsageServices(connection, new GatewayOptions(), TimeProvider.System, prefix: prefix);
        var cache = new BlobCacheStore(connection.BlobContainer(prefix + "cache"), TimeProvider.System);
        var gateway = new TestGateway(usage: services.Sink, cache: cache);
        var keys = new Dictionary<string, string>
        {
            ["alice"] = await gateway.CreateKeyAsync("checkout", team: "payments", user: "alice"),
            ["bob"] = await gateway.CreateKeyAsync("search", team: "payments", user: "bob"),
        };
        foreach (var (user, key) in keys)
        {
            for (var i = 0; i < (user == "alice" ? 3 : 2); i++)
            {
                var context = TestGateway.Request("POST", "/v1/chat/completions", $$"""{"model":"mock-1","temperature":0,"messages":[{"role":"user","content":"{{user}} asks {{i}}"}]}""", key);
                await gateway.ChatAsync(context.Request);
                Assert.Equal(200, context.Response.StatusCode);
            }
        }

        // through the usage queue, the writer and the rollup job, as on the host
        await services.Batcher.FlushAsync(default);
        var functions = new UsageFunctions(services, NullLogger<UsageFunctions>.Instance);
        var first = (await services.QueueClient.ReceiveMessageAsync()).Value;
        await functions.WriteUsage(first.MessageText, default);
        await services.QueueClient.DeleteMessageAsync(first.MessageId, first.PopReceipt);
        await functions.RollupUsage(new Microsoft.Azure.Functions.Worker.TimerInfo(), default);

        var bobRecords = await RecordsOfAsync(services.Records, "bob");
        Assert.Equal(2, bobRecords.Count);
        var aliceRecords = await RecordsOfAsync(services.Records, "alice");
        Assert.Equal(3, aliceRecords.Count);
        // the answers are stored off the request path: wait until every one is in the blob container
        foreach (var record in aliceRecords.Concat(bobRecords))
        {
            Assert.NotNull(record.CacheKey);
            for (var i = 0; i < 100 && await cache.GetAsync(record.CacheKey, default) is null; i++) await Task.Delay(50);
            Assert.Equal(record.RequestId, (await cache.GetAsync(record.CacheKey, default))?.RequestId);
        }

        var rollupTable = connection.Table(prefix + UsageServices.RollupsTable);
        bool IsAlices((string Partition, string Row, string Values) row) => row.Partition.EndsWith("|user", StringComparison.Ordinal) && row.Row.EndsWith("|alice", StringComparison.Ordinal);
        var rollupsBefore = await RowsAsync(rollupTable);
        Assert.Equal(4, rollupsBefore.Count(IsAlices)); // her 5-minute, hour, day and month rows (the requests took well under 5 minutes)

        var audit = new InMemoryAuditSink();
        var service = new UserDataService(services.Records, services.Rollups, cache, gateway.Options.Cache, audit, Hasher, TimeProvider.System);
        var userData = new UserDataFunctions(gateway.Runtime, service);

        var (status, text) = await CallAsync(userData.Export, "GET", "alice");
        Assert.Equal(200, status);
        var export = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("alice", (string?)export["user"]);
        Assert.Equal(aliceRecords.Select(r => r.RequestId).Order(), export["usageRecords"]!.AsArray().Select(r => (string)r!["requestId"]!).Order());
        Assert.Equal(4, export["rollups"]!.AsArray().Count);
        Assert.All(export["rollups"]!.AsArray(), r => Assert.Equal((3L, "alice"), ((long)r!["requests"]!, (string?)r["value"])));
        Assert.Equal(3, export["cachedAnswers"]!.AsArray().Count);
        Assert.Empty(export["auditEvents"]!.AsArray());

        (status, text) = await CallAsync(userData.Erase, "DELETE", "alice");
        Assert.Equal(200, status);
        var report = JsonNode.Parse(text)!;
        Assert.Equal((3L, 4L, 3L), ((long)report["usageRecords"]!, (long)report["rollups"]!, (long)report["cachedAnswers"]!));
        Assert.Equal(Hasher.Hash("alice"), (string?)report["subject"]);

        // alice is gone from records, her rollups, the cache and the index; bob and every other rollup are as they were
        Assert.Equal(rollupsBefore.Where(r => !IsAlices(r)), await RowsAsync(rollupTable));
        Assert.Equal(bobRecords.Select(r => r.RequestId).Order(), (await RecordsOfAsync(services.Records, "bob")).Select(r => r.RequestId).Order());
        foreach (var record in aliceRecords) Assert.Null(await cache.GetAsync(record.CacheKey!, default));
        foreach (var record in bobRecords) Assert.NotNull(await cache.GetAsync(record.CacheKey!, default));
        var raw = new List<UsageRecord>();
        await foreach (var r in services.Records.ReadRangeAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), default)) raw.Add(r);
        Assert.Equal(["bob", "bob"], raw.Select(r => r.User));
        var index = new List<TableEntity>();
        await foreach (var e in connection.Table(prefix + UsageServices.UsersTable).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {TableUserIndex.PartitionFor("alice")}"))) index.Add(e);
        Assert.Empty(index);

        (status, text) = await CallAsync(userData.Export, "GET", "alice");
        Assert.Equal(200, status);
        export = JsonNode.Parse(text)!.AsObject();
        foreach (var kind in new[] { "usageRecords", "rollups", "cachedAnswers" }) Assert.Empty(export[kind]!.AsArray());
        (status, text) = await CallAsync(userData.Erase, "DELETE", "alice");
        Assert.Equal((200, 0L), (status, (long)JsonNode.Parse(text)!["usageRecords"]!));

        var erased = audit.Events.First(e => e.Type == AuditEventTypes.UserDataErased);
        Assert.Equal((Hasher.Hash("alice"), "admin"), (erased.Subject, erased.Actor));
        Assert.Equal("3", erased.Details!["usageRecords"]);
        Assert.Equal([AuditEventTypes.UserDataExported, AuditEventTypes.UserDataErased, AuditEventTypes.UserDataExported, AuditEventTypes.UserDataErased], audit.Events.Select(e => e.Type));
        Assert.All(audit.Events, e => Assert.DoesNotContain("alice", JsonSerializer.Serialize(e), StringComparison.Ordinal));

        // the audit log over the same storage: the exports and erasures appended and sealed, the chain verifies (it holds
        // only alice's hash, so erasing her data took nothing from it), and bob's export is whole
        var keyPath = Path.Combine(Path.GetTempPath(), $"gdpr-audit-key-{Guid.NewGuid():N}.pem");
        try
        {
            using var signer = EcdsaFileSigner.LoadOrCreate(keyPath);
            var log = new AuditLog(new TableAuditLogStore(connection.Table(prefix + AuditServices.EntriesTable), connection.Table(prefix + AuditServices.CheckpointsTable)),
                signer, CheckpointVerifier.FromPem(signer.PublicKeyPem), new AuditOptions(), TimeProvider.System);
            await log.AppendAsync(audit.Events, default);
            Assert.NotNull(await log.SealAsync(default));
            var verified = await log.VerifyAsync(null, null, default);
            Assert.True(verified.Ok, verified.First?.Message);
            Assert.Equal(4, verified.VerifiedSize);
        }
        finally
        {
            File.Delete(keyPath);
        }

        (status, text) = await CallAsync(userData.Export, "GET", "bob");
        Assert.Equal((200, 2), (status, JsonNode.Parse(text)!["usageRecords"]!.AsArray().Count));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_too_long_id_is_a_400_naming_it_and_no_admin_key_is_a_401(string method)
    {
        var gateway = new TestGateway();
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var services = new UsageServices(connection, new GatewayOptions(), TimeProvider.System, prefix: azurite.UniqueName("gdprbad").ToLowerInvariant());
        var userData = new UserDataFunctions(gateway.Runtime,
            new UserDataService(services.Records, services.Rollups, gateway.Runtime.Cache, gateway.Options.Cache, new InMemoryAuditSink(), Hasher, TimeProvider.System));
        Func<HttpRequest, string, Task<Microsoft.AspNetCore.Mvc.IActionResult>> function = method == "GET" ? userData.Export : userData.Erase;

        var (status, text) = await CallAsync(function, method, new string('u', 257));
        Assert.Equal(400, status);
        Assert.Equal(("id", "string_above_max_length"), ((string?)JsonNode.Parse(text)!["error"]!["param"], (string?)JsonNode.Parse(text)!["error"]!["code"]));

        var anonymous = TestGateway.Request(method, "/gateway/users/alice/data");
        await function(anonymous.Request, "alice");
        Assert.Equal(401, anonymous.Response.StatusCode);
    }
}

/// <summary>The per-user index is kept only as long as what it points to.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class UserIndexRetentionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Retention_deletes_index_entries_with_the_records_and_hour_entries_with_the_monthly_rollups()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var prefix = azurite.UniqueName("gdprret").ToLowerInvariant();
        var now = DateTimeOffset.UtcNow;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(now.AddDays(-800));
        var options = new GatewayOptions();
        var services = new UsageServices(connection, options, time, prefix: prefix);
        UsageRecord Record(string id, DateTimeOffset at) => new() { RequestId = id, At = at, KeyId = "key_1", User = "carol", Outcome = UsageOutcomes.Success, Status = 200 };
        await services.Records.WriteAsync([Record("req_ancient", now.AddDays(-790)), Record("req_old", now.AddDays(-120)), Record("req_new", now.AddDays(-1))], default);
        await services.RollupJob.RunAsync(default); // as of 800 days ago: every bucket was fresh then

        time.SetUtcNow(now);
        await services.RetentionJob.RunAsync(default);

        var index = connection.Table(prefix + UsageServices.UsersTable);
        var rows = new List<string>();
        await foreach (var e in index.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {TableUserIndex.PartitionFor("carol")}"))) rows.Add(e.RowKey);
        // the record entries go with the records (90 days); the hours stay while their months are reported (760 days)
        Assert.Single(rows, r => r.StartsWith("r|", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.EndsWith("|req_new", StringComparison.Ordinal));
        Assert.Equal(2, rows.Count(r => r.StartsWith("h|", StringComparison.Ordinal)));
        Assert.DoesNotContain("h|" + UsageBuckets.Key(now.AddDays(-790), Granularity.Hour), rows);

        var left = new List<RollupRow>();
        await foreach (var row in services.Rollups.ReadUserAsync("carol", default)) left.Add(row);
        Assert.Contains(left, r => r.Granularity == Granularity.Month && r.Start == UsageBuckets.Floor(now.AddDays(-120), Granularity.Month));
        Assert.DoesNotContain(left, r => r.Start < UsageBuckets.Floor(now.AddDays(-760), Granularity.Month));
    }
}
