using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Privacy;
using Gateway.Testing;

namespace Gateway.Core.Tests.Privacy;

/// <summary>Prompt and answer logging: off by default, on per team or key, always redacted, streams included.</summary>
[Trait("Category", "Pipeline")]
public sealed class ContentLogTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private sealed class Sink : IContentLogSink
    {
        public List<ContentLogEntry> Entries { get; } = [];

        public void Write(ContentLogEntry entry)
        {
            lock (Entries) Entries.Add(entry);
        }
    }

    private async Task<(GatewayRuntime Runtime, Sink Sink, string Payments, string Other)> Gateway(ContentLogOptions logging)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
            Privacy = new PrivacyOptions { ContentLogging = logging },
        };
        var sink = new Sink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, contentLog: sink, features: TestFeatures.Current);
        var (_, payments) = await runtime.Keys.CreateAsync(new CreateKeyRequest("p", "alice", "payments", [], new Dictionary<string, string>()), default);
        var (_, other) = await runtime.Keys.CreateAsync(new CreateKeyRequest("o", "bob", "search", [], new Dictionary<string, string>()), default);
        return (runtime, sink, payments, other);
    }

    private static string Chat(string text, bool stream = false) => new JsonObject
    {
        ["model"] = "m", ["stream"] = stream, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    }.ToJsonString();

    [Fact]
    public async Task Nothing_is_logged_by_default_and_the_stage_is_not_in_the_pipeline()
    {
        var (runtime, sink, payments, _) = await Gateway(new ContentLogOptions());
        _upstream.Enqueue(new FakeReply { Text = "fine" });
        await GatewayRequests.SendAsync(runtime, new BearerHeaders(payments), Chat("hello"));

        Assert.Empty(sink.Entries);
        Assert.DoesNotContain(runtime.Pipeline.Stages, s => s is ContentLogStage);
    }

    [Fact]
    public async Task A_team_s_prompts_and_answers_are_logged_redacted_and_other_teams_are_not()
    {
        var (runtime, sink, payments, other) = await Gateway(new ContentLogOptions { Teams = { ["payments"] = true } });
        _upstream.Enqueue(new FakeReply { Text = "I will write to jane.doe@example.org with key AKIAIOSFODNN7EXAMPLE." });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(payments), Chat("Mail jane.doe@example.org about card 4111 1111 1111 1111"));
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        await GatewayRequests.SendAsync(runtime, new BearerHeaders(other), Chat("not logged"));

        var entry = Assert.Single(sink.Entries);
        Assert.Equal(("payments", "alice", "m"), (entry.Team, entry.User, entry.Model));
        Assert.Contains("<EMAIL_1>", entry.Request, StringComparison.Ordinal);
        Assert.Contains("<CARD_1>", entry.Request, StringComparison.Ordinal);
        // the same address is the same placeholder in the answer; the key never reaches the log
        Assert.Contains("<EMAIL_1>", entry.Response, StringComparison.Ordinal);
        Assert.Contains("<SECRET_AWS_1>", entry.Response, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe", entry.Request + entry.Response, StringComparison.Ordinal);
        Assert.DoesNotContain("AKIA", entry.Response, StringComparison.Ordinal);
        Assert.False(entry.Truncated);
    }

    [Fact]
    public async Task A_streamed_answer_is_logged_whole_and_a_key_setting_overrides_its_team()
    {
        var (runtime, sink, payments, _) = await Gateway(new ContentLogOptions { Enabled = true, MaxChars = 100 });
        var text = string.Concat(Enumerable.Repeat("The quarterly numbers look fine. ", 10));
        _upstream.Enqueue(new FakeReply { Text = text });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(payments), Chat("summarise", stream: true));

        var entry = Assert.Single(sink.Entries);
        Assert.Equal(text[..100], entry.Response);
        Assert.True(entry.Truncated);
        Assert.Equal(sent.Context.UsageRecordId, entry.RequestId);

        var off = new ContentLogOptions { Enabled = true, Teams = { ["payments"] = true }, Keys = { [entry.KeyId] = false } };
        Assert.False(off.IsOn(entry.KeyId, "payments"));
        Assert.True(off.IsOn("another", "payments"));
    }
}
