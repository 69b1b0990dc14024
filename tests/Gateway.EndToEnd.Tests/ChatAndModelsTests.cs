using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace Gateway.EndToEnd.Tests;

/// <summary>Chat, models, keys and bad input through the real host, with the official OpenAI .NET SDK where it applies.</summary>
[Collection(HostCollection.Name)]
public sealed class ChatAndModelsTests(HostFixture fixture)
{
    private OpenAIClientOptions SdkOptions => new() { Endpoint = new Uri(fixture.Host.BaseUri, "v1"), NetworkTimeout = TimeSpan.FromSeconds(60) };

    [HostFact]
    public async Task The_sdk_completes_and_streams_a_chat()
    {
        var client = new ChatClient("gpt-4o-mini", new ApiKeyCredential(fixture.Keys["main"].Key), SdkOptions);
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hello through the host")]);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.True(completion.Usage.OutputTokenCount > 0);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hello through the host")],
            new ChatCompletionOptions()))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
        }

        Assert.Equal(completion.Content[0].Text, text.ToString());
        Assert.NotNull(usage);
    }

    [HostFact]
    public async Task The_safety_policy_refuses_a_secret_and_flags_pii_on_the_host()
    {
        const string secret = "AKIAIOSFODNN7EXAMPLE";
        var refused = await fixture.ChatAsync(fixture.Keys["main"].Key,
            $$"""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"deploy with {{secret}} please"}]}""");
        Assert.Equal(400, refused.Status);
        Assert.Equal("content_filter", (string?)refused.Json!["error"]!["code"]);
        Assert.Equal("messages[0].content", (string?)refused.Json!["error"]!["param"]);
        Assert.DoesNotContain(secret, refused.Text, StringComparison.Ordinal);
        Assert.Equal("input: block secret.aws=1", refused.Header("x-gateway-safety"));

        var flagged = await fixture.ChatAsync(fixture.Keys["main"].Key,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail ops@example.com about it"}]}""");
        Assert.Equal(200, flagged.Status);
        // (the loopback upstream echoes the prompt, so its answer is flagged too)
        Assert.StartsWith("input: flag email=1", flagged.Header("x-gateway-safety"), StringComparison.Ordinal);
    }

    [HostFact]
    public async Task The_safety_policy_is_shown_and_simulated_for_the_admin_only()
    {
        var shown = await fixture.AdminAsync(HttpMethod.Get, "gateway/safety");
        Assert.Equal(200, shown.Status);
        Assert.Equal("baseline", (string?)shown.Json!["policy"]);
        Assert.Equal("block", (string?)shown.Json!["detectors"]!["secret.aws"]);

        var simulated = await fixture.AdminAsync(HttpMethod.Post, "gateway/safety/simulate",
            """{"policy":"pii-redact","text":"card 4111 1111 1111 1111 for ops@example.com"}""");
        Assert.Equal(200, simulated.Status);
        Assert.Equal("card <CARD_1> for <EMAIL_1>", (string?)simulated.Json!["redacted"]);
        Assert.Equal(2, simulated.Json!["decisions"]!.AsArray().Count);

        var invalid = await fixture.AdminAsync(HttpMethod.Post, "gateway/safety/simulate", """{"policy":{"name":"x","rules":{"emial":"block"}},"text":"x"}""");
        Assert.Equal(400, invalid.Status);
        Assert.Contains("$.rules.emial", (string?)invalid.Json!["error"]!["message"], StringComparison.Ordinal);
        var notAdmin = await fixture.SendAsync(HttpMethod.Post, "gateway/safety/simulate", fixture.Keys["main"].Key, """{"text":"x"}""");
        Assert.Equal(401, notAdmin.Status);
    }

    [HostFact]
    public async Task Safety_policies_are_replaced_at_runtime_through_the_admin_api()
    {
        var (id, key) = fixture.Keys["safety"];
        const string chat = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail ops@example.com about it"}]}""";
        try
        {
            var put = await fixture.AdminAsync(HttpMethod.Put, "gateway/safety", $$$"""{"policy":"baseline","keys":{"{{{id}}}":"pii-redact"}}""");
            Assert.Equal(200, put.Status);
            Assert.Equal("admin", (string?)put.Json!["source"]);

            // the key's requests are now redacted before the model sees them; the loopback upstream echoes what it got
            var redacted = await fixture.ChatAsync(key, chat);
            Assert.Equal(200, redacted.Status);
            Assert.StartsWith("input: redact email=1", redacted.Header("x-gateway-safety"), StringComparison.Ordinal);
            Assert.DoesNotContain("ops@example.com", redacted.Text, StringComparison.Ordinal);
            // other keys keep the global policy
            Assert.StartsWith("input: flag email=1", (await fixture.ChatAsync(fixture.Keys["main"].Key, chat)).Header("x-gateway-safety"), StringComparison.Ordinal);

            var invalid = await fixture.AdminAsync(HttpMethod.Put, "gateway/safety", """{"policy":"paranoid","keys":{""" + $"\"{id}\"" + """:{"name":"k","rules":{"emial":"block"}}},"extra":1}""");
            Assert.Equal(400, invalid.Status);
            var message = (string)invalid.Json!["error"]!["message"]!;
            Assert.Contains("policy: 'paranoid'", message, StringComparison.Ordinal);
            Assert.Contains($"keys.{id}: $.rules.emial", message, StringComparison.Ordinal);
            Assert.Contains("extra: unknown field", message, StringComparison.Ordinal);
            var shown = await fixture.AdminAsync(HttpMethod.Get, "gateway/safety");
            Assert.Equal("pii-redact", (string?)shown.Json!["keys"]![id]!["policy"]);
            Assert.Equal(401, (await fixture.SendAsync(HttpMethod.Put, "gateway/safety", key, """{"policy":"log-only"}""")).Status);
        }
        finally
        {
            Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/safety", """{"policy":"baseline"}""")).Status);
        }

        Assert.StartsWith("input: flag email=1", (await fixture.ChatAsync(key, chat)).Header("x-gateway-safety"), StringComparison.Ordinal);
    }

    [HostFact]
    public async Task A_response_carries_the_gateway_headers_and_its_cost()
    {
        var reply = await fixture.ChatAsync(fixture.Keys["main"].Key, HostFixture.LongChat(),
            new Dictionary<string, string> { ["x-request-id"] = "e2e-client-id-1" });
        Assert.Equal(200, reply.Status);
        Assert.Equal("e2e-client-id-1", reply.Header("x-request-id"));
        Assert.StartsWith("req_", reply.Header("x-gateway-request-id"), StringComparison.Ordinal);
        Assert.Equal("upstream", reply.Header("x-gateway-deployment"));
        Assert.True(reply.Cost > 0m);
        Assert.True(decimal.Parse(reply.Header("x-gateway-cost-estimate-usd")!, System.Globalization.CultureInfo.InvariantCulture) >= reply.Cost);
    }

    [HostFact]
    public async Task Models_are_listed_both_ways_and_one_model_is_found_or_not()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(fixture.Keys["main"].Key), SdkOptions);
        OpenAIModelCollection models = await client.GetModelsAsync();
        Assert.Contains(models, m => m.Id == "gpt-4o-mini");
        OpenAIModel one = await client.GetModelAsync("gpt-4o-mini");
        Assert.Equal("gpt-4o-mini", one.Id);

        var slash = await fixture.SendAsync(HttpMethod.Get, "v1/models/", fixture.Keys["main"].Key);
        Assert.Equal(200, slash.Status);
        Assert.Equal("list", (string?)slash.Json!["object"]);
        var missing = await fixture.SendAsync(HttpMethod.Get, "v1/models/no-such-model", fixture.Keys["main"].Key);
        Assert.Equal(404, missing.Status);
        Assert.Equal("model_not_found", missing.ErrorCode);
        // a key limited to one model sees only that one
        var limited = await fixture.SendAsync(HttpMethod.Get, "v1/models", fixture.Keys["limited-model"].Key);
        Assert.Equal(["mock-1"], limited.Json!["data"]!.AsArray().Select(m => (string?)m!["id"]));
        Assert.Equal(401, (await fixture.SendAsync(HttpMethod.Get, "v1/models", null)).Status);
    }

    [HostFact]
    public async Task A_body_over_the_limit_gets_an_openai_413_through_the_host()
    {
        // 50 MB: above the gateway's 8 MB limit, below the host's own 100 MB
        var body = new byte[50 * 1024 * 1024];
        Array.Fill(body, (byte)'a');
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Keys["main"].Key);
        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Contains("\"code\":\"request_too_large\"", text, StringComparison.Ordinal);
    }

    [HostFact]
    public async Task Bad_input_is_an_openai_error_never_a_500()
    {
        var key = fixture.Keys["main"].Key;
        var cases = new (string Json, int Status, string Code)[]
        {
            ("{not json", 400, "invalid_json"),
            ("""{"model":"gpt-4o-mini"}""", 400, "missing_required_parameter"),
            ("""{"model":"gpt-4o-mini","messages":[{"role":"wizard","content":"x"}]}""", 400, "invalid_value"),
            // a number no double holds, where the cache key used to meet an infinity (500)
            ("""{"model":"gpt-4o-mini","temperature":0,"x":1e400,"messages":[{"role":"user","content":"x"}]}""", 400, "invalid_value"),
            ("""{"model":"nope","messages":[{"role":"user","content":"x"}]}""", 404, "model_not_found"),
            ("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}""", 403, "model_not_allowed"),
        };
        foreach (var (json, status, code) in cases)
        {
            var reply = await fixture.ChatAsync(status == 403 ? fixture.Keys["limited-model"].Key : key, json);
            Assert.True(status == reply.Status, $"{json}: {reply}");
            Assert.Equal(code, reply.ErrorCode);
        }

        Assert.Equal("invalid_api_key", (await fixture.ChatAsync("sk-gw-not-a-key", """{"model":"gpt-4o-mini","messages":[]}""")).ErrorCode);
    }

    [HostFact]
    public async Task Keys_are_created_used_listed_and_revoked_through_the_admin_api()
    {
        var created = await fixture.AdminAsync(HttpMethod.Post, "gateway/keys", """{"name":"e2e-admin-created","team":"ops","allowed_models":["mock-1"]}""");
        Assert.Equal(201, created.Status);
        var key = (string)created.Json!["key"]!;
        var id = (string)created.Json!["id"]!;
        Assert.Equal(200, (await fixture.ChatAsync(key, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""")).Status);
        var list = await fixture.AdminAsync(HttpMethod.Get, "gateway/keys");
        Assert.Contains(list.Json!["data"]!.AsArray(), k => (string?)k!["id"] == id);
        Assert.DoesNotContain(key, list.Text, StringComparison.Ordinal);

        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Delete, "gateway/keys/" + id)).Status);
        Assert.Equal(401, (await fixture.ChatAsync(key, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""")).Status);
        Assert.Equal(401, (await fixture.SendAsync(HttpMethod.Get, "gateway/keys", fixture.Keys["main"].Key)).Status);
    }

    [HostFact]
    public async Task Emergency_stops_refuse_a_model_until_it_is_resumed()
    {
        var key = fixture.Keys["main"].Key;
        const string chat = """{"model":"mock-1","messages":[{"role":"user","content":"stop me"}]}""";
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/stops/model/mock-1", """{"reason":"e2e incident"}""")).Status);
        try
        {
            var refused = await HostFixture.EventuallyAsync(() => fixture.ChatAsync(key, chat), r => r.Status == 403, TimeSpan.FromSeconds(10), "the stop");
            Assert.Equal("model_stopped", refused.ErrorCode);
            Assert.Contains("e2e incident", refused.Text, StringComparison.Ordinal);
            var listed = await fixture.AdminAsync(HttpMethod.Get, "gateway/stops");
            Assert.Contains(listed.Json!["data"]!.AsArray(), s => (string?)s!["name"] == "mock-1");
        }
        finally
        {
            Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Delete, "gateway/stops/model/mock-1")).Status);
        }

        await HostFixture.EventuallyAsync(() => fixture.ChatAsync(key, chat), r => r.Status == 200, TimeSpan.FromSeconds(10), "the resume");
    }
}
