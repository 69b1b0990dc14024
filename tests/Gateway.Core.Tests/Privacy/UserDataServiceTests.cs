using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Caching;
using Gateway.Core.Errors;
using Gateway.Core.Privacy;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Privacy;

/// <summary>Export and erasure of one end user's data over in-memory stores.</summary>
public sealed class UserDataServiceTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T12:00:00Z");
    private static readonly SubjectHasher Hasher = new("a test pepper of at least thirty-two characters"u8.ToArray());

    /// <summary>Records and rollups by stored user; optionally fails once on a chosen step (a crash half-way).</summary>
    private sealed class Stores : IUserUsageRecords, IUserRollups, IContentLogStore
    {
        public List<ContentLogEntry> Content { get; } = [];

        public Task WriteAsync(IReadOnlyList<ContentLogEntry> entries, CancellationToken cancellationToken)
        {
            Content.AddRange(entries);
            return Task.CompletedTask;
        }

        async IAsyncEnumerable<ContentLogEntry> IContentLogStore.ReadUserAsync(string user, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            foreach (var e in Content.Where(e => e.User == user).ToList()) yield return e;
        }

        Task<long> IContentLogStore.DeleteUserAsync(string user, CancellationToken cancellationToken) => Task.FromResult((long)Content.RemoveAll(e => e.User == user));

        public Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult((long)Content.RemoveAll(e => e.At < cutoff));

        public List<UsageRecord> Records { get; } = [];
        public List<RollupRow> Rollups { get; } = [];
        public HashSet<string> Indexed { get; } = [];
        public string? FailOnce { get; set; }

        private void MaybeFail(string step)
        {
            if (FailOnce != step) return;
            FailOnce = null;
            throw new IOException("storage went away");
        }

        async IAsyncEnumerable<UsageRecord> IUserUsageRecords.ReadUserAsync(string storedUser, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (!Indexed.Contains(storedUser)) yield break;
            foreach (var r in Records.Where(r => r.User == storedUser).ToList()) yield return r;
        }

        public Task<long> DeleteUserAsync(string storedUser, CancellationToken cancellationToken)
        {
            MaybeFail("records");
            return Task.FromResult((long)(Indexed.Contains(storedUser) ? Records.RemoveAll(r => r.User == storedUser) : 0));
        }

        public Task ForgetUserAsync(string storedUser, CancellationToken cancellationToken)
        {
            Indexed.Remove(storedUser);
            return Task.CompletedTask;
        }

        async IAsyncEnumerable<RollupRow> IUserRollups.ReadUserAsync(string storedUser, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (!Indexed.Contains(storedUser)) yield break;
            foreach (var r in Rollups.Where(r => r.Dimension == UsageDimensions.User && r.Value == storedUser).ToList()) yield return r;
        }

        Task<long> IUserRollups.DeleteUserAsync(string storedUser, CancellationToken cancellationToken)
        {
            MaybeFail("rollups");
            return Task.FromResult((long)(Indexed.Contains(storedUser) ? Rollups.RemoveAll(r => r.Dimension == UsageDimensions.User && r.Value == storedUser) : 0));
        }

        /// <summary>Writes records as the usage writer and the rollup job would: indexed, and rolled up by hour.</summary>
        public void Add(params UsageRecord[] records)
        {
            foreach (var r in records)
            {
                Records.Add(r);
                if (r.User is { } user) Indexed.Add(user);
            }

            Rollups.Clear();
            foreach (var hour in Records.GroupBy(r => UsageBuckets.Floor(r.At, Granularity.Hour)))
            {
                foreach (var (key, totals) in UsageDimensions.Aggregate(hour)) Rollups.Add(new RollupRow(Granularity.Hour, hour.Key, key.Dimension, key.Value, totals));
            }
        }
    }

    private sealed class Search(params AuditEvent[] events) : IAuditSubjectSearch
    {
        public async IAsyncEnumerable<AuditEvent> FindBySubjectAsync(string subjectHash, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            foreach (var e in events.Where(e => e.Subject == subjectHash)) yield return e;
        }
    }

    private sealed record Setup(UserDataService Service, Stores Stores, InMemoryCacheStore Cache, InMemoryAuditSink Audit, FakeTimeProvider Time);

    private static Setup NewSetup(SubjectHasher? hasher = null, params AuditEvent[] audit)
    {
        var time = new FakeTimeProvider(Now);
        var stores = new Stores();
        var cache = new InMemoryCacheStore(time);
        var sink = new InMemoryAuditSink();
        return new Setup(new UserDataService(stores, stores, cache, new CacheOptions(), sink, hasher ?? Hasher, time, new Search(audit), stores), stores, cache, sink, time);
    }

    private static UsageRecord Record(string id, string? user, DateTimeOffset at, string? cacheKey = null) => new()
    {
        RequestId = id, At = at, KeyId = "key_1", User = user, Team = "payments", ModelRequested = "gpt-4o", PromptTokens = 10, CompletionTokens = 5,
        CostUsd = 0.0001m, Outcome = UsageOutcomes.Success, Status = 200, CacheStatus = cacheKey is null ? "bypass" : "miss", CacheKey = cacheKey,
    };

    private static CachedCompletion Answer(string requestId) =>
        new("""{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"42"},"finish_reason":"stop"}]}""",
            new TokenUsage(10, 5), "mock", Now, requestId);

    private static async Task<JsonObject> ExportAsync(Setup s, string user)
    {
        using var output = new MemoryStream();
        await s.Service.ExportAsync(user, "admin", output, default);
        return JsonNode.Parse(output.ToArray())!.AsObject();
    }

    /// <summary>alice under her plain id and (a pseudonymous team) her hash, bob beside her, a cached answer each.</summary>
    private static async Task<Setup> Populated()
    {
        var s = NewSetup(audit: [new AuditEvent { Id = "audit_1", At = Now, Type = AuditEventTypes.SafetyDecision, Actor = "gateway", Subject = Hasher.Hash("alice") }]);
        s.Stores.Add(
            Record("req_a1", "alice", Now.AddMinutes(-30), "team:payments|aaa"),
            Record("req_a2", Hasher.Hash("alice"), Now.AddMinutes(-20)),
            Record("req_a3", "alice", Now.AddDays(-3), "team:payments|old"),
            Record("req_b1", "bob", Now.AddMinutes(-25), "team:payments|bbb"),
            Record("req_n1", null, Now.AddMinutes(-10)));
        await s.Cache.SetAsync("team:payments|aaa", Answer("req_a1"), TimeSpan.FromHours(1), default);
        await s.Cache.SetAsync("team:payments|bbb", Answer("req_b1"), TimeSpan.FromHours(1), default);
        // the entry alice's old request created was since replaced by bob's answer to the same prompt: his, not hers
        await s.Cache.SetAsync("team:payments|old", Answer("req_b0"), TimeSpan.FromHours(1), default);
        return s;
    }

    [Fact]
    public async Task The_export_holds_the_user_s_records_under_both_names_their_rollups_answers_and_audit_events_and_is_itself_audited()
    {
        var s = await Populated();
        var export = await ExportAsync(s, "alice");

        Assert.Equal("alice", (string?)export["user"]);
        Assert.Equal(Now, (DateTimeOffset)export["generatedAt"]!);
        Assert.Equal(["req_a1", "req_a2", "req_a3"], export["usageRecords"]!.AsArray().Select(r => (string)r!["requestId"]!).Order());
        var rollups = export["rollups"]!.AsArray();
        Assert.All(rollups, r => Assert.Equal("user", (string?)r!["dimension"]));
        Assert.Equal(3, rollups.Sum(r => (long)r!["requests"]!));
        var answer = Assert.Single(export["cachedAnswers"]!.AsArray())!;
        Assert.Equal(("team:payments|aaa", "req_a1", "42"), ((string?)answer["key"], (string?)answer["requestId"], (string?)answer["completion"]!["choices"]![0]!["message"]!["content"]));
        Assert.Equal("audit_1", (string?)Assert.Single(export["auditEvents"]!.AsArray())!["id"]);

        var audited = Assert.Single(s.Audit.Events);
        Assert.Equal((AuditEventTypes.UserDataExported, "admin", Hasher.Hash("alice")), (audited.Type, audited.Actor, audited.Subject));
        Assert.Equal("3", audited.Details!["usageRecords"]);
        Assert.DoesNotContain("alice", System.Text.Json.JsonSerializer.Serialize(audited), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Erasure_removes_the_user_s_records_rollups_and_answers_leaves_everyone_else_s_and_a_second_run_finds_nothing()
    {
        var s = await Populated();
        var otherRollups = s.Stores.Rollups.Where(r => r.Dimension != UsageDimensions.User).ToList();

        var erased = await s.Service.EraseAsync("alice", "admin:dpo", default);

        Assert.Equal((Hasher.Hash("alice"), 3L, 3L, 1L), (erased.Subject, erased.UsageRecords, erased.Rollups, erased.CachedAnswers));
        Assert.Equal(["req_b1", "req_n1"], s.Stores.Records.Select(r => r.RequestId).Order());
        Assert.DoesNotContain(s.Stores.Rollups, r => r.Value is "alice" || r.Value == Hasher.Hash("alice"));
        Assert.Equal(otherRollups, s.Stores.Rollups.Where(r => r.Dimension != UsageDimensions.User)); // totals without the user stay
        Assert.Null(await s.Cache.GetAsync("team:payments|aaa", default));
        Assert.NotNull(await s.Cache.GetAsync("team:payments|bbb", default));
        Assert.NotNull(await s.Cache.GetAsync("team:payments|old", default));

        var audited = Assert.Single(s.Audit.Events);
        Assert.Equal((AuditEventTypes.UserDataErased, "admin:dpo", Hasher.Hash("alice"), "user:" + Hasher.Hash("alice")), (audited.Type, audited.Actor, audited.Subject, audited.Scope));
        Assert.Equal(("3", "3", "1"), (audited.Details!["usageRecords"], audited.Details["rollups"], audited.Details["cachedAnswers"]));
        Assert.DoesNotContain("alice", System.Text.Json.JsonSerializer.Serialize(audited), StringComparison.Ordinal);
        Assert.Equal(3L, erased.ToJson()["usageRecords"]!.GetValue<long>());

        var again = await s.Service.EraseAsync("alice", "admin", default);
        Assert.Equal((0L, 0L, 0L), (again.UsageRecords, again.Rollups, again.CachedAnswers));
        var export = await ExportAsync(s, "alice");
        Assert.Empty(export["usageRecords"]!.AsArray());
        Assert.Empty(export["rollups"]!.AsArray());
        Assert.Empty(export["cachedAnswers"]!.AsArray());
    }

    [Theory]
    [InlineData("records")]
    [InlineData("rollups")]
    public async Task An_erasure_that_failed_half_way_is_finished_by_running_it_again(string failingStep)
    {
        var s = await Populated();
        s.Stores.FailOnce = failingStep;
        await Assert.ThrowsAsync<IOException>(() => s.Service.EraseAsync("alice", "admin", default));
        Assert.Empty(s.Audit.Events); // only a completed erasure is recorded

        await s.Service.EraseAsync("alice", "admin", default);
        Assert.DoesNotContain(s.Stores.Records, r => r.User is "alice" || r.User == Hasher.Hash("alice"));
        Assert.DoesNotContain(s.Stores.Rollups, r => r.Value is "alice" || r.Value == Hasher.Hash("alice"));
        Assert.Null(await s.Cache.GetAsync("team:payments|aaa", default));
        Assert.Equal(AuditEventTypes.UserDataErased, Assert.Single(s.Audit.Events).Type);
    }

    [Fact]
    public async Task An_unknown_user_is_an_empty_export_and_an_erasure_of_nothing()
    {
        var s = await Populated();
        var export = await ExportAsync(s, "nobody");
        foreach (var kind in new[] { "usageRecords", "rollups", "cachedAnswers", "auditEvents" }) Assert.Empty(export[kind]!.AsArray());
        var erased = await s.Service.EraseAsync("nobody", "admin", default);
        Assert.Equal((0L, 0L, 0L), (erased.UsageRecords, erased.Rollups, erased.CachedAnswers));
        Assert.Equal(5, s.Stores.Records.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task A_missing_or_too_long_id_is_a_400_naming_it(string? id)
    {
        var s = NewSetup();
        var missing = await Assert.ThrowsAsync<GatewayException>(() => s.Service.EraseAsync(id!, "admin", default));
        Assert.Equal((400, "id"), (missing.Error.Status, missing.Error.Param));
        var tooLong = await Assert.ThrowsAsync<GatewayException>(() => s.Service.ExportAsync(new string('u', 257), "admin", Stream.Null, default));
        Assert.Equal((400, "id", "string_above_max_length"), (tooLong.Error.Status, tooLong.Error.Param, tooLong.Error.Code));
        Assert.Empty(s.Audit.Events);
    }

    [Fact]
    public async Task Without_a_pepper_export_and_erasure_are_refused_before_anything_is_touched()
    {
        var time = new FakeTimeProvider(Now);
        var stores = new Stores();
        stores.Add(Record("req_a1", "alice", Now));
        var service = new UserDataService(stores, stores, new InMemoryCacheStore(time), new CacheOptions(), new InMemoryAuditSink(), null, time);
        var refused = await Assert.ThrowsAsync<GatewayException>(() => service.EraseAsync("alice", "admin", default));
        Assert.Equal((403, "privacy_disabled"), (refused.Error.Status, refused.Error.Code));
        Assert.Single(stores.Records);
    }

    [Fact]
    public async Task Logged_content_is_exported_and_erased_under_both_names_and_other_users_content_stays()
    {
        var s = await Populated();
        ContentLogEntry Logged(string id, string? user) => new(id, Now, "key_1", "payments", user, "gpt-4o", "[{\"role\":\"user\",\"content\":\"mail <EMAIL_1>\"}]", "done", false);
        await s.Stores.WriteAsync([Logged("req_a1", "alice"), Logged("req_a2", Hasher.Hash("alice")), Logged("req_b1", "bob")], default);

        var export = await ExportAsync(s, "alice");
        Assert.Equal(["req_a1", "req_a2"], export["loggedContent"]!.AsArray().Select(e => (string?)e!["requestId"]).Order());

        var erased = await s.Service.EraseAsync("alice", "admin", default);
        Assert.Equal(2, erased.LoggedContent);
        Assert.Equal("req_b1", Assert.Single(s.Stores.Content).RequestId);
        Assert.Equal("2", s.Audit.Events[^1].Details!["loggedContent"]);
    }
}
