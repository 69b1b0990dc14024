using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Audit;

/// <summary>What becomes an audit event, and what never goes into one.</summary>
[Trait("Category", "Pipeline")]
public sealed class AuditEventsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 30, TimeSpan.Zero);

    [Fact]
    public void Events_survive_the_queue_split_across_messages_in_order()
    {
        var events = Enumerable.Range(0, 500).Select(i => new AuditEvent
        {
            Id = "e" + i, At = Start.AddSeconds(i), Type = AuditEventTypes.KeyCreated, Actor = "admin:alice", Target = "key:" + i,
            After = new JsonObject { ["name"] = new string('n', 200), ["i"] = i }, Details = new Dictionary<string, string> { ["source"] = "10.0.0.1" },
        }).ToList();

        var messages = AuditEventCodec.EncodeBatch(events).ToList();
        var decoded = messages.SelectMany(AuditEventCodec.Decode).ToList();

        Assert.True(messages.Count > 1);
        Assert.All(messages, m => Assert.True(m.Length <= 46 * 1024));
        Assert.Equal(events.Select(e => e.Id), decoded.Select(e => e.Id));
        Assert.Equal(events[7].After!.ToJsonString(), decoded[7].After!.ToJsonString());
        Assert.Equal("10.0.0.1", decoded[499].Details!["source"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("A1:not json")]
    [InlineData("A1:[{\"type\":\"x\"}]")]
    [InlineData("U2:abc")]
    public void A_message_that_is_not_events_is_a_format_error(string message) =>
        Assert.Throws<FormatException>(() => AuditEventCodec.Decode(message));

    [Fact]
    public void Refused_authentication_is_one_event_per_source_and_minute_with_the_counts()
    {
        var time = new FakeTimeProvider(Start);
        var sink = new InMemoryAuditSink();
        var refusals = new RefusedAuthentication(sink, time, maxSourcesPerMinute: 3, instance: "i1");
        for (var i = 0; i < 10_000; i++) refusals.Count("203.0.113.9", i % 2 == 0 ? "invalid_key" : "missing_key");
        refusals.Count("198.51.100.4", "invalid_key");
        // a flood from many sources: beyond three a minute they count as "other"
        for (var i = 0; i < 50; i++) refusals.Count("192.0.2." + i, "invalid_key");
        Assert.Empty(sink.Events);

        time.Advance(TimeSpan.FromMinutes(1));
        refusals.Count("203.0.113.9", "invalid_key");

        var events = sink.Events;
        Assert.Equal(4, events.Count);
        Assert.All(events, e => Assert.Equal(AuditEventTypes.AuthRefused, e.Type));
        var flood = events.Single(e => e.Details!["source"] == "203.0.113.9");
        Assert.Equal("10000", flood.Details!["count"]);
        Assert.Equal("5000", flood.Details["reason.invalid_key"]);
        Assert.Equal("49", events.Single(e => e.Details!["source"] == RefusedAuthentication.Other).Details!["count"]);
        Assert.Equal(4, events.Select(e => e.Id).Distinct().Count());
    }

    [FeatureFact(GatewayFeature.Audit)]
    public async Task A_request_with_a_wrong_key_is_counted_and_never_carries_the_key()
    {
        var sink = new InMemoryAuditSink();
        var time = new FakeTimeProvider(Start);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = "http://127.0.0.1:9/v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), time, audit: sink, features: TestFeatures.Current);
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders("gk-wrong-key-0123456789"), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(401, sent.Outcome.Error?.Status);

        time.Advance(TimeSpan.FromMinutes(2));
        runtime.RefusedAuthentication.Flush();

        var e = Assert.Single(sink.Events);
        Assert.Equal("1", e.Details!["reason.invalid_key"]);
        Assert.DoesNotContain("gk-wrong", System.Text.Json.JsonSerializer.Serialize(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_safety_decision_goes_out_with_the_usage_record_as_an_event_without_the_matched_text()
    {
        var audit = new InMemoryAuditSink();
        var usage = new InMemoryUsageSink();
        var hasher = new SubjectHasher([1, 2, 3]);
        var sink = new SafetyDecisionAudit(usage, audit, hasher);
        var record = new UsageRecord
        {
            RequestId = "req_1", At = Start, KeyId = "key_a", User = "alice@example.org", Team = "payments", Outcome = UsageOutcomes.Error,
            Safety = "input: block secret.aws=1", ModelRequested = "gpt-4o",
        };

        await sink.SubmitAsync(record, default);
        await sink.SubmitAsync(record with { RequestId = "req_2", Safety = null }, default);

        Assert.Equal(2, usage.Records.Count);
        var e = Assert.Single(audit.Events);
        Assert.Equal(("safety:req_1", AuditEventTypes.SafetyDecision, "key:key_a"), (e.Id, e.Type, e.Scope));
        Assert.Equal("input: block secret.aws=1", e.Details!["decision"]);
        Assert.Equal(hasher.Hash("alice@example.org"), e.Subject);
        Assert.DoesNotContain("alice", System.Text.Json.JsonSerializer.Serialize(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_budget_alert_is_an_event_keyed_by_the_alert()
    {
        var audit = new InMemoryAuditSink();
        var sink = new BudgetAlertAudit(new NullBudgetAlertSink(), audit);
        var alert = new BudgetAlert(BudgetScope.ForTeam("payments"), 0.8m, Start, Start.AddMonths(1), 80m, 100m, Start);

        await sink.PublishAsync([alert, alert], default);

        Assert.Equal(2, audit.Events.Count);
        Assert.All(audit.Events, e => Assert.Equal("budget-alert:" + alert.Id, e.Id));
        Assert.Equal("team:payments", audit.Events[0].Scope);
        Assert.Equal("0.8", audit.Events[0].Details!["threshold"]);
    }

    [Fact]
    public async Task An_admin_change_is_recorded_with_who_before_and_after_and_a_refused_one_is_not()
    {
        var audit = new InMemoryAuditSink();
        var admin = new AdminAudit(audit, new FakeTimeProvider(Start));
        var actor = AuditActor.FromHeaders(new BearerHeaders("k", new Dictionary<string, string> { ["x-gateway-actor"] = "alice\r\nforged: yes" }), "10.1.2.3");
        var state = new JsonObject { ["limit_usd"] = 10 };

        var answer = await admin.ChangeAsync(actor, AuditEventTypes.BudgetSet, "budget:team:a", _ => Task.FromResult<JsonNode?>(state),
            _ => Task.FromResult(new JsonObject { ["limit_usd"] = 20 }), after => after, default, "team:a");
        await Assert.ThrowsAsync<InvalidOperationException>(() => admin.ChangeAsync<JsonObject>(actor, AuditEventTypes.BudgetSet, "budget:team:a", null,
            _ => throw new InvalidOperationException("refused"), after => after, default));

        var e = Assert.Single(audit.Events);
        Assert.Equal(20, (int)answer["limit_usd"]!);
        Assert.Equal("admin:aliceforged: yes", e.Actor);
        Assert.Equal(10, (int)e.Before!["limit_usd"]!);
        Assert.Equal(20, (int)e.After!["limit_usd"]!);
        Assert.Equal("10.1.2.3", e.Details!["source"]);
        Assert.Equal(Start, e.At);
    }

    [Fact]
    public void The_development_signing_key_lives_outside_the_app_folder_unless_a_full_path_is_given()
    {
        // a file appearing in the app's folder restarts the Functions host (and in Azure that folder is read-only)
        var local = new AuditOptions().SigningKeyFullPath();
        Assert.True(Path.IsPathRooted(local));
        Assert.False(local.StartsWith(AppContext.BaseDirectory, StringComparison.Ordinal), local);
        Assert.EndsWith(Path.Combine("llm-gateway", "audit-signing-key.pem"), local, StringComparison.Ordinal);
        Assert.Equal("/run/keys/audit.pem", new AuditOptions { SigningKeyPath = "/run/keys/audit.pem" }.SigningKeyFullPath());
    }
}
