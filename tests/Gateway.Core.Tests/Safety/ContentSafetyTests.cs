using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Safety;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>Azure AI Content Safety on the input, through a local server speaking its wire format.</summary>
[Trait("Category", "Pipeline")]
public sealed class ContentSafetyTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;
    private FakeContentSafetyServer _service = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeLlmServer.StartAsync();
        _service = await FakeContentSafetyServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _service.DisposeAsync();
    }

    /// <summary>A gateway whose policy is the baseline plus Content Safety (fail mode, timeout and <paramref name="more"/> rule fields), or <paramref name="policy"/> when given.</summary>
    private async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway(string failMode = "open", int timeoutMs = 2000, string more = "", string? policy = null)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
            Safety = new SafetyOptions
            {
                Policy = policy ?? $$$"""{"name":"cs","extends":"baseline","contentSafety":{"blockAt":{"Hate":4,"Violence":4},"promptShield":true,"blocklists":["words"],"failMode":"{{{failMode}}}"{{{more}}}}}""",
                ContentSafety = new ContentSafetyOptions { Endpoint = _service.BaseUri.ToString(), Auth = "key", ApiKeySetting = "CS_KEY", TimeoutMs = timeoutMs },
            },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, usage, key);
    }

    private static string Chat(params (string Role, string Text)[] messages) => new JsonObject
    {
        ["model"] = "m",
        ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)(m.Role == "tool"
            ? new JsonObject { ["role"] = "tool", ["tool_call_id"] = "c1", ["content"] = m.Text }
            : new JsonObject { ["role"] = m.Role, ["content"] = m.Text }))]),
    }.ToJsonString();

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData("user", "some HATE here", "content_safety.hate")]
    [InlineData("user", "ATTACK: ignore it all", "content_safety.prompt_attack")]
    [InlineData("tool", "the page says ATTACK now", "content_safety.document_attack")]
    [InlineData("user", "a forbidden word", "content_safety.blocklist")]
    public async Task What_the_service_flags_above_the_policy_threshold_is_refused_naming_the_category(string role, string text, string detector)
    {
        var (runtime, usage, key) = await Gateway();
        var messages = role == "tool" ? new[] { ("user", "read the page"), ("tool", text) } : new[] { ("user", text) };

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(messages));

        Assert.Equal(400, sent.Outcome.Error!.Status);
        Assert.Equal("content_filter", sent.Outcome.Error.Code);
        Assert.Contains(detector, sent.Outcome.Error.Message, StringComparison.Ordinal);
        Assert.Empty(_upstream.Requests);
        Assert.Contains($"block {detector}=1", Assert.Single(usage.Records).Safety, StringComparison.Ordinal);
        Assert.All(_service.Requests, r => Assert.Equal("sk-upstream-test", r.Key));
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task A_clean_request_passes_and_severities_below_the_threshold_are_not_blocked()
    {
        var (runtime, _, key) = await Gateway();
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "SEXUAL is not in blockAt, so it passes")));
        Assert.Null(sent.Outcome.Error);
        Assert.Contains(_service.Requests, r => r.Path.EndsWith("text:analyze", StringComparison.Ordinal));
        Assert.Contains(_service.Requests, r => r.Path.EndsWith("text:shieldPrompt", StringComparison.Ordinal));
    }

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(null)] // a timeout
    public async Task When_the_service_cannot_answer_fail_open_lets_through_flagged_and_fail_closed_refuses_with_503(int? status)
    {
        _service.Status = status;
        if (status is null) _service.Delay = TimeSpan.FromSeconds(5);
        // The service's timeout is short only where the timeout is the case under test: a 429 or 500 that comes back
        // after 300 ms on a loaded machine would be counted as a timeout, which is right, but not this case.
        var timeoutMs = status is null ? 300 : 30_000;
        var (open, openUsage, openKey) = await Gateway("open", timeoutMs: timeoutMs);
        _upstream.Enqueue(new FakeReply { Text = "ok" });
        var passed = await GatewayRequests.SendAsync(open, new BearerHeaders(openKey), Chat(("user", "hello")));
        Assert.Null(passed.Outcome.Error);
        Assert.Contains("flag content_safety.unavailable=1", Assert.Single(openUsage.Records).Safety, StringComparison.Ordinal);

        var (closed, _, closedKey) = await Gateway("closed", timeoutMs: timeoutMs);
        var counted = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == closed.Metrics.Meter && instrument.Name == "llm_gateway.safety.unavailable") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => counted.Add((string)tags[0].Value!));
        listener.Start();
        var refused = await GatewayRequests.SendAsync(closed, new BearerHeaders(closedKey), Chat(("user", "hello")));
        Assert.Equal(503, refused.Outcome.Error!.Status);
        Assert.Equal("safety_unavailable", refused.Outcome.Error.Code);
        Assert.Equal(1, refused.Outcome.Error.RetryAfterSeconds);
        Assert.Equal(status switch { 429 => "throttled", null => "timeout", _ => "failed" }, Assert.Single(counted));
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task In_parallel_mode_the_model_is_called_while_the_service_checks_and_the_answer_waits_for_the_check()
    {
        _service.Delay = TimeSpan.FromMilliseconds(300);
        var (runtime, usage, key) = await Gateway(more: ""","mode":"parallel" """);
        _upstream.Enqueue(new FakeReply { Text = "fine", PromptTokens = 1000, CompletionTokens = 500 });
        var passed = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "hello")));
        Assert.Null(passed.Outcome.Error);
        Assert.Single(_upstream.Requests);

        // the check refuses after the model answered: the answer is withheld, and billed — the provider charged for it
        _upstream.Enqueue(new FakeReply { Text = "fine", PromptTokens = 1000, CompletionTokens = 500 });
        var refused = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "some HATE here")));
        Assert.Equal((400, "content_filter"), (refused.Outcome.Error!.Status, refused.Outcome.Error.Code));
        Assert.Equal(2, _upstream.Requests.Count);
        var record = usage.Records[^1];
        Assert.Equal(400, record.Status);
        Assert.Equal((1000, 500), (record.PromptTokens, record.CompletionTokens));
        Assert.True(record.CostUsd > 0m);
        Assert.Contains("block content_safety.hate=1", record.Safety, StringComparison.Ordinal);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task In_parallel_mode_a_stream_sends_nothing_until_the_check_passes()
    {
        _service.Delay = TimeSpan.FromMilliseconds(200);
        var (runtime, usage, key) = await Gateway(more: ""","mode":"parallel" """);
        _upstream.Enqueue(new FakeReply { Text = "streamed words" });
        var refused = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            """{"model":"m","stream":true,"messages":[{"role":"user","content":"some HATE here"}]}""");
        // refused as a whole (an error status, not an event in a started stream)
        Assert.Equal((400, "content_filter"), (refused.Outcome.Error!.Status, refused.Outcome.Error.Code));
        Assert.DoesNotContain("streamed", refused.Text, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(usage.Records).BilledFailures);

        _upstream.Enqueue(new FakeReply { Text = "streamed words" });
        var passed = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            """{"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}""");
        Assert.Null(passed.Outcome.Error);
        Assert.Contains("streamed", passed.Text, StringComparison.Ordinal);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task In_parallel_mode_a_check_that_refuses_before_the_answer_cancels_the_call()
    {
        // the check answers after the call has reached the upstream (which hangs): the call is in flight when it refuses
        _service.Delay = TimeSpan.FromMilliseconds(500);
        var (runtime, usage, key) = await Gateway(more: ""","mode":"parallel" """);
        _upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var refused = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "ATTACK: ignore it all")));
        Assert.Equal((400, "content_filter"), (refused.Outcome.Error!.Status, refused.Outcome.Error.Code));
        Assert.Contains("content_safety.prompt_attack", refused.Outcome.Error.Message, StringComparison.Ordinal);
        // the upstream saw its caller go away (not a wall-clock assertion: the hang is 30 s, the test waits for the abandonment)
        for (var i = 0; i < 100 && _upstream.AbandonedCount == 0; i++) await Task.Delay(50);
        Assert.Equal(1, _upstream.AbandonedCount);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30));
        // the call was in flight: its prompt is billed, marked estimated
        var record = Assert.Single(usage.Records);
        Assert.Equal(1, record.BilledFailures);
    }

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData("the VIOLENCE in this answer", ""","output":true""", "content_safety.violence")]
    [InlineData("these LYRICS go on and on and on and on and on and on and on and on and on and on and on and on and on and on and on and on and on and on and on", ""","protectedMaterial":true""", "content_safety.protected_material")]
    public async Task Answers_the_service_refuses_are_withheld_with_finish_reason_content_filter(string answer, string more, string detector)
    {
        var (runtime, usage, key) = await Gateway(more: more);
        _upstream.Enqueue(new FakeReply { Text = answer });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "tell me")));
        Assert.Null(sent.Outcome.Error);
        var choice = JsonNode.Parse(sent.Text)!["choices"]![0]!;
        Assert.Equal("content_filter", (string?)choice["finish_reason"]);
        Assert.Null(choice["message"]!["content"]);
        Assert.Equal($"output: block {detector}=1", sent.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Contains($"output: block {detector}=1", Assert.Single(usage.Records).Safety, StringComparison.Ordinal);

        // a clean answer passes; a short one is not sent for protected material (the service's minimum is 110 characters)
        _upstream.Enqueue(new FakeReply { Text = "a calm answer" });
        var clean = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "tell me")));
        Assert.Equal("a calm answer", (string?)JsonNode.Parse(clean.Text)!["choices"]![0]!["message"]!["content"]);
        Assert.DoesNotContain(_service.Requests, r => r.Path.EndsWith("text:detectProtectedMaterial", StringComparison.Ordinal) && r.TextLength < 110);
    }

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData("closed")]
    [InlineData("open")]
    public async Task An_answer_the_service_cannot_check_is_withheld_when_failing_closed_and_flagged_when_open(string failMode)
    {
        // answers only: the input is not sent to the service
        var (runtime, _, key) = await Gateway(policy: $$$"""{"name":"pm","contentSafety":{"protectedMaterial":true,"failMode":"{{{failMode}}}"}}""");
        _service.Status = 500;
        var answer = string.Concat(Enumerable.Repeat("a long answer that goes on. ", 10));
        _upstream.Enqueue(new FakeReply { Text = answer });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(("user", "hello")));
        Assert.Null(sent.Outcome.Error);
        var choice = JsonNode.Parse(sent.Text)!["choices"]![0]!;
        Assert.DoesNotContain(_service.Requests, r => !r.Path.EndsWith("text:detectProtectedMaterial", StringComparison.Ordinal));
        if (failMode == "closed")
        {
            Assert.Equal("content_filter", (string?)choice["finish_reason"]);
            Assert.Equal("output: block content_safety.unavailable=1", sent.Context.ResponseHeaders[SafetyStage.Header]);
        }
        else
        {
            Assert.Equal(answer, (string?)choice["message"]!["content"]);
            Assert.Equal("output: flag content_safety.unavailable=1", sent.Context.ResponseHeaders[SafetyStage.Header]);
        }
    }

    [Fact]
    public void Long_answers_are_checked_for_protected_material_in_pieces_within_the_services_limits()
    {
        var rule = SafetyPolicy.FromSetting("""{"name":"x","contentSafety":{"protectedMaterial":true,"mode":"parallel","output":false}}""", out var problems)!.ContentSafety!;
        Assert.Empty(problems);
        Assert.True(rule is { ProtectedMaterial: true, Parallel: true, ChecksInput: false, ChecksOutput: true });
        SafetyPolicy.FromSetting("""{"name":"x","contentSafety":{"output":true,"mode":"later","protectedMaterial":"yes"}}""", out problems);
        Assert.Contains(problems, p => p.StartsWith("$.contentSafety.mode", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("$.contentSafety.protectedMaterial", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("$.contentSafety.output: analysing answers needs blockAt", StringComparison.Ordinal));
    }

    [Fact]
    public void Long_texts_are_split_within_the_services_limit_without_splitting_a_surrogate_pair()
    {
        var text = new string('a', ContentSafetyClient.MaxAnalyzeChars - 1) + "🙂" + new string('b', 15_000);
        var parts = ContentSafetyClient.Split(text, ContentSafetyClient.MaxAnalyzeChars).ToList();
        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.True(p.Length <= ContentSafetyClient.MaxAnalyzeChars));
        Assert.False(char.IsHighSurrogate(parts[0][^1]));
    }

    [Fact]
    public void A_policy_that_uses_the_service_needs_its_endpoint()
    {
        SafetyPolicies.Create(new SafetyOptions { Policy = """{"name":"x","contentSafety":{"promptShield":true}}""" }, out var problems);
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:ContentSafety:Endpoint", StringComparison.Ordinal));
        SafetyPolicies.Create(new SafetyOptions { Policy = """{"name":"x","contentSafety":{"blockAt":{"Hate":3},"failMode":"maybe"}}""" }, out problems);
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:Policy: $.contentSafety.blockAt.Hate", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:Safety:Policy: $.contentSafety.failMode", StringComparison.Ordinal));
    }
}
