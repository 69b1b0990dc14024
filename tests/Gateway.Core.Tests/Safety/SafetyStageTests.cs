using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Safety;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>The safety policy on the request path: what reaches the model, what is refused, what the client and the record see.</summary>
[Trait("Category", "Pipeline")]
public sealed class SafetyStageTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway(string? policy)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
            Safety = new SafetyOptions { Policy = policy },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, usage, key);
    }

    private static string Chat(params JsonObject[] messages) => new JsonObject { ["model"] = "m", ["messages"] = new JsonArray([.. messages]) }.ToJsonString();

    private static JsonObject User(string text) => new() { ["role"] = "user", ["content"] = text };

    [FeatureFact(GatewayFeature.Safety)]
    public async Task Pii_is_replaced_by_typed_placeholders_before_the_model_sees_it_and_the_decision_is_recorded()
    {
        var (runtime, usage, key) = await Gateway("pii-redact");
        _upstream.Enqueue(new FakeReply { Text = "noted" });

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(
            new JsonObject { ["role"] = "system", ["content"] = "Escalations go to ops@example.com." },
            User("I am jane.doe@example.org, card 4111 1111 1111 1111; again jane.doe@example.org")));

        Assert.Null(sent.Outcome.Error);
        var upstream = JsonNode.Parse(Assert.Single(_upstream.Requests).Body)!;
        Assert.Equal("Escalations go to <EMAIL_1>.", (string?)upstream["messages"]![0]!["content"]);
        Assert.Equal("I am <EMAIL_2>, card <CARD_1>; again <EMAIL_2>", (string?)upstream["messages"]![1]!["content"]);
        Assert.Equal("input: redact card=1 email=3", sent.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Equal("input: redact card=1 email=3", Assert.Single(usage.Records).Safety);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task A_secret_in_a_tool_result_is_refused_naming_the_detector_and_the_field_never_the_secret()
    {
        var (runtime, usage, key) = await Gateway("baseline");
        const string secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(
            User("what did the tool say?"),
            new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "c1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "env", ["arguments"] = "{}" } }) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "c1", ["content"] = "GITHUB_TOKEN=" + secret }));

        var error = sent.Outcome.Error!;
        Assert.Equal(400, error.Status);
        Assert.Equal("content_filter", error.Code);
        Assert.Equal("messages[2].content", error.Param);
        Assert.Contains("secret.github", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        Assert.Empty(_upstream.Requests);
        var record = Assert.Single(usage.Records);
        Assert.Equal(400, record.Status);
        Assert.Equal("input: block secret.github=1", record.Safety);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task Tool_call_arguments_are_checked_too()
    {
        var (runtime, _, key) = await Gateway("secrets-block");
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(
            User("deploy it"),
            new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "c1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "aws", ["arguments"] = "{\"key\":\"AKIAIOSFODNN7EXAMPLE\"}" } }) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "c1", ["content"] = "ok" }));
        Assert.Equal("messages[1].tool_calls[0].function.arguments", sent.Outcome.Error!.Param);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task An_answer_the_policy_blocks_is_withheld_with_finish_reason_content_filter()
    {
        var (runtime, usage, key) = await Gateway("baseline");
        _upstream.Enqueue(new FakeReply { Text = "Use this key: AIzaSyA1234567890abcdefghijklmnopqrstuv" });

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(User("give me a key")));

        Assert.Null(sent.Outcome.Error);
        var choice = JsonNode.Parse(sent.Text)!["choices"]![0]!;
        Assert.Null((string?)choice["message"]!["content"]);
        Assert.Equal("content_filter", (string?)choice["finish_reason"]);
        Assert.DoesNotContain("AIza", sent.Text, StringComparison.Ordinal);
        Assert.Equal("output: block secret.google=1", Assert.Single(usage.Records).Safety);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task Streamed_tool_call_arguments_are_redacted_on_their_way()
    {
        var (runtime, usage, key) = await Gateway("pii-redact");
        _upstream.Enqueue(new FakeReply { ToolCalls = [new FakeToolCall("call_1", "send_mail", """{"to":"jane.doe@example.org","subject":"the quarterly numbers"}""")] });

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            """{"model":"m","stream":true,"messages":[{"role":"user","content":"mail her"}],"tools":[{"type":"function","function":{"name":"send_mail","parameters":{"type":"object"}}}]}""");

        Assert.Null(sent.StreamError);
        Assert.Equal("""{"to":"<EMAIL_1>","subject":"the quarterly numbers"}""", sent.StreamedArguments());
        Assert.DoesNotContain("jane.doe", sent.Text, StringComparison.Ordinal);
        Assert.Equal("output: redact email=1", Assert.Single(usage.Records).Safety);
    }

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_restore_the_user_sees_their_own_values_in_the_answer_while_the_model_never_did(bool stream)
    {
        var (runtime, _, key) = await Gateway("""{"name":"mine","extends":"pii-redact","restore":true}""");
        // the model answers with the placeholder it was given, and an address of its own (redacted, never restored)
        _upstream.Enqueue(new FakeReply { Text = "I will write to <EMAIL_1> and copy ops@example.net today, as you asked me to do for the review." });
        var body = $$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"mail jane.doe@example.org please"}]}""";
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), body);

        Assert.Equal("mail <EMAIL_1> please", (string?)JsonNode.Parse(Assert.Single(_upstream.Requests).Body)!["messages"]![0]!["content"]);
        var text = stream ? sent.StreamedContent() : (string?)JsonNode.Parse(sent.Text)!["choices"]![0]!["message"]!["content"];
        Assert.Equal("I will write to jane.doe@example.org and copy <EMAIL_2> today, as you asked me to do for the review.", text);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task A_streamed_answer_is_redacted_on_its_way_and_the_record_says_so()
    {
        var (runtime, usage, key) = await Gateway("pii-redact");
        _upstream.Enqueue(new FakeReply { Text = "Sure, I will write to jane.doe@example.org today and let you know how it goes." });

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"who?"}]}""");

        Assert.Null(sent.StreamError);
        Assert.Equal("Sure, I will write to <EMAIL_1> today and let you know how it goes.", sent.StreamedContent());
        Assert.DoesNotContain("jane.doe", sent.Text, StringComparison.Ordinal);
        Assert.Equal("output: redact email=1", Assert.Single(usage.Records).Safety);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task Flagged_findings_pass_unchanged_and_a_policy_installed_at_runtime_applies_from_the_next_request()
    {
        var (runtime, _, key) = await Gateway("log-only");
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(User("my server is 10.1.2.3")));
        Assert.Equal("my server is 10.1.2.3", (string?)JsonNode.Parse(Assert.Single(_upstream.Requests).Body)!["messages"]![0]!["content"]);
        Assert.Equal("input: flag ipv4=1", sent.Context.ResponseHeaders[SafetyStage.Header]);

        var (plain, _, plainKey) = await Gateway(null);
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        var unchecked_ = await GatewayRequests.SendAsync(plain, new BearerHeaders(plainKey), Chat(User("mail me at a@example.com")));
        Assert.False(unchecked_.Context.ResponseHeaders.ContainsKey(SafetyStage.Header));
        Assert.Equal("mail me at a@example.com", (string?)JsonNode.Parse(_upstream.Requests[^1].Body)!["messages"]![0]!["content"]);

        plain.Safety.Install("""{"policy": "pii-redact"}""");
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        var redacted = await GatewayRequests.SendAsync(plain, new BearerHeaders(plainKey), Chat(User("mail me at a@example.com")));
        Assert.Equal("input: redact email=1", redacted.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Equal("mail me at <EMAIL_1>", (string?)JsonNode.Parse(_upstream.Requests[^1].Body)!["messages"]![0]!["content"]);
    }

    [Fact]
    public async Task An_unknown_policy_stops_the_app_at_startup_naming_the_templates()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Gateway("paranoid"));
        Assert.Contains("'paranoid'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pii-redact", ex.Message, StringComparison.Ordinal);
    }
}
