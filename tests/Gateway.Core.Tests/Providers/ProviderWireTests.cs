using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Testing;

namespace Gateway.Core.Tests.Providers;

/// <summary>The provider adapters against a real local server speaking each provider's wire format.</summary>
public sealed class ProviderWireTests : IAsyncLifetime
{
    private const string Secret = "sk-upstream-secret-123456";
    private FakeLlmServer _server = null!;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Secrets _secrets = new();

    public async Task InitializeAsync() => _server = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
    }

    private DeploymentOptions Deployment(string provider, Action<DeploymentOptions>? configure = null)
    {
        var d = new DeploymentOptions
        {
            Name = provider + "-test",
            Provider = provider,
            Model = provider == ProviderKind.AzureOpenAi ? "my-gpt4o-deployment" : "upstream-model",
            Endpoint = provider == ProviderKind.Anthropic ? _server.BaseUri.ToString() : provider == ProviderKind.AzureOpenAi ? _server.BaseUri.ToString() : new Uri(_server.BaseUri, "v1").ToString(),
            ApiKeySetting = "KEY",
            ApiVersion = "2024-10-21",
            TimeoutSeconds = 30,
        };
        configure?.Invoke(d);
        return d;
    }

    private IChatProvider Provider(DeploymentOptions d, IAccessTokenSource? tokens = null) =>
        new ProviderRegistry(_ => _http, _secrets, TimeProvider.System, tokens).For(d);

    private static ProviderRequest Request(string json, DeploymentOptions d) => new(ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(json)), d, "req_test");

    private static async Task<List<JsonObject>> ReadAll(IChatStream stream)
    {
        var chunks = new List<JsonObject>();
        while (await stream.ReadAsync(CancellationToken.None) is { } chunk) chunks.Add(chunk);
        return chunks;
    }

    [Fact]
    public async Task OpenAi_forwards_the_body_unchanged_but_for_the_model_and_reads_usage()
    {
        _server.RequiredApiKey = Secret;
        _server.Enqueue(new FakeReply { Text = "hello", PromptTokens = 120, CompletionTokens = 30, CachedPromptTokens = 64, ReasoningTokens = 12 });
        var d = Deployment(ProviderKind.OpenAi);
        var result = await Provider(d).CompleteAsync(Request("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","x_vendor":{"a":[1,2]},"seed":7}""", d), default);

        var sent = JsonNode.Parse(_server.Requests.Single().Body)!;
        Assert.Equal("/v1/chat/completions", _server.Requests.Single().Path);
        Assert.Equal("Bearer " + Secret, _server.Requests.Single().Headers["authorization"]);
        Assert.Equal("upstream-model", (string?)sent["model"]);
        Assert.Equal("low", (string?)sent["reasoning_effort"]);
        Assert.Equal("""{"a":[1,2]}""", sent["x_vendor"]!.ToJsonString());
        Assert.Equal(7, (int)sent["seed"]!);
        Assert.Equal("hello", (string?)result.Body["choices"]![0]!["message"]!["content"]);
        Assert.Equal(new TokenUsage(120, 30, 64, 0, 12), result.Usage);
    }

    [Fact]
    public async Task OpenAi_stream_always_asks_for_usage_and_relays_chunks()
    {
        _server.Enqueue(new FakeReply { Text = "one two three", PromptTokens = 9, CompletionTokens = 3 });
        var d = Deployment(ProviderKind.OpenAi);
        await using var stream = await Provider(d).OpenStreamAsync(Request("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", d), default);
        var chunks = await ReadAll(stream);

        Assert.True((bool)JsonNode.Parse(_server.Requests.Single().Body)!["stream_options"]!["include_usage"]!);
        Assert.Equal("one two three", string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => (string?)c!["delta"]?["content"])));
        Assert.Equal(new TokenUsage(9, 3), stream.Usage);
    }

    [Fact]
    public async Task Azure_uses_the_deployment_url_api_version_and_api_key()
    {
        _server.RequiredApiKey = Secret;
        var d = Deployment(ProviderKind.AzureOpenAi);
        var result = await Provider(d).CompleteAsync(Request("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi there"}]}""", d), default);
        var recorded = _server.Requests.Single();
        Assert.Equal("/openai/deployments/my-gpt4o-deployment/chat/completions", recorded.Path);
        Assert.Contains("api-version=2024-10-21", recorded.QueryString, StringComparison.Ordinal);
        Assert.Equal(Secret, recorded.Headers["api-key"]);
        Assert.Equal("echo: hi there", (string?)result.Body["choices"]![0]!["message"]!["content"]);
    }

    [Fact]
    public async Task Azure_with_entra_sends_a_bearer_token_for_the_cognitive_services_scope()
    {
        var tokens = new FakeTokens();
        var d = Deployment(ProviderKind.AzureOpenAi, x => { x.Auth = "entra"; x.ApiKeySetting = null; });
        await Provider(d, tokens).CompleteAsync(Request("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", d), default);
        Assert.Equal("Bearer token-for-https://cognitiveservices.azure.com/.default", _server.Requests.Single().Headers["authorization"]);
        Assert.False(_server.Requests.Single().Headers.ContainsKey("api-key"));
    }

    [Fact]
    public async Task Anthropic_translates_request_and_response_with_cache_tokens()
    {
        _server.RequiredApiKey = Secret;
        _server.Enqueue(new FakeReply { Text = "bonjour", PromptTokens = 150, CachedPromptTokens = 30, CacheWriteTokens = 20, CompletionTokens = 7 });
        var d = Deployment(ProviderKind.Anthropic);
        var result = await Provider(d).CompleteAsync(Request(
            """{"model":"claude","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"hi"}],"max_tokens":100,"stop":"END","user":"u1"}""", d), default);

        var recorded = _server.Requests.Single();
        Assert.Equal("/v1/messages", recorded.Path);
        Assert.Equal(Secret, recorded.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", recorded.Headers["anthropic-version"]);
        var sent = JsonNode.Parse(recorded.Body)!;
        Assert.Equal("be nice", (string?)sent["system"]![0]!["text"]);
        Assert.Equal(100, (int)sent["max_tokens"]!);
        Assert.Equal("END", (string?)sent["stop_sequences"]![0]);
        Assert.Equal("u1", (string?)sent["metadata"]!["user_id"]);

        Assert.Equal("bonjour", (string?)result.Body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)result.Body["choices"]![0]!["finish_reason"]);
        Assert.Equal(new TokenUsage(150, 7, 30, 20), result.Usage);
        Assert.Equal(150, (int)result.Body["usage"]!["prompt_tokens"]!);
        Assert.Equal(30, (int)result.Body["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
    }

    [Fact]
    public async Task Anthropic_stream_translates_text_tool_calls_and_usage()
    {
        _server.Enqueue(new FakeReply
        {
            Text = "let me check",
            ToolCalls = [new FakeToolCall("toolu_1", "get_weather", """{"city":"Oslo","unit":"c"}""")],
            FinishReason = "tool_calls",
            PromptTokens = 40,
            CachedPromptTokens = 10,
            CompletionTokens = 12,
        });
        var d = Deployment(ProviderKind.Anthropic);
        await using var stream = await Provider(d).OpenStreamAsync(Request(
            """{"model":"claude","stream":true,"messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}""", d), default);
        var chunks = await ReadAll(stream);

        var choices = chunks.SelectMany(c => c["choices"]!.AsArray()).ToList();
        Assert.Equal("assistant", (string?)choices[0]!["delta"]!["role"]);
        Assert.Equal("let me check", string.Concat(choices.Select(c => (string?)c!["delta"]?["content"])));
        var toolDeltas = choices.Select(c => c!["delta"]?["tool_calls"]?[0]).Where(t => t is not null).ToList();
        Assert.Equal("toolu_1", (string?)toolDeltas[0]!["id"]);
        Assert.Equal("get_weather", (string?)toolDeltas[0]!["function"]!["name"]);
        Assert.Equal("""{"city":"Oslo","unit":"c"}""", string.Concat(toolDeltas.Select(t => (string?)t!["function"]!["arguments"])));
        Assert.Equal("tool_calls", choices.Select(c => (string?)c!["finish_reason"]).Last(f => f is not null));
        Assert.Equal(new TokenUsage(40, 12, 10, 0), stream.Usage);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
    }

    [Theory]
    [InlineData(ProviderKind.OpenAi)]
    [InlineData(ProviderKind.Anthropic)]
    public async Task Upstream_429_becomes_429_with_retry_after(string provider)
    {
        _server.EnqueueFault(new RateLimited(7));
        var d = Deployment(provider);
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), default));
        Assert.Equal(429, ex.Error.Status);
        Assert.Equal(7, ex.Error.RetryAfterSeconds);
    }

    [Theory]
    [InlineData(ProviderKind.OpenAi, false)]
    [InlineData(ProviderKind.AzureOpenAi, false)]
    [InlineData(ProviderKind.Anthropic, false)]
    [InlineData(ProviderKind.OpenAi, true)]
    [InlineData(ProviderKind.Anthropic, true)]
    public async Task Upstream_5xx_becomes_502(string provider, bool stream)
    {
        _server.EnqueueFault(new ServerError(503));
        var d = Deployment(provider);
        var request = Request(stream ? """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""" : """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d);
        var ex = await Assert.ThrowsAsync<GatewayException>(async () =>
        {
            if (stream) await (await Provider(d).OpenStreamAsync(request, default)).DisposeAsync();
            else await Provider(d).CompleteAsync(request, default);
        });
        Assert.Equal(502, ex.Error.Status);
    }

    [Fact]
    public async Task Upstream_400_passes_its_message_as_400()
    {
        _server.EnqueueFault(new BadRequest("context_length_exceeded: too long"));
        var d = Deployment(ProviderKind.OpenAi);
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), default));
        Assert.Equal(400, ex.Error.Status);
        Assert.Contains("context_length_exceeded", ex.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ProviderKind.OpenAi)]
    [InlineData(ProviderKind.Anthropic)]
    public async Task Upstream_auth_failure_is_502_without_the_key_or_upstream_message(string provider)
    {
        _server.RequiredApiKey = "the-right-key";
        var d = Deployment(provider);
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), default));
        Assert.Equal(502, ex.Error.Status);
        Assert.DoesNotContain(Secret, ex.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret[..10], System.Text.Encoding.UTF8.GetString(ex.Error.ToJsonBytes()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hanging_upstream_times_out_as_504()
    {
        _server.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        var d = Deployment(ProviderKind.OpenAi, x => x.TimeoutSeconds = 0.3);
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), default));
        Assert.Equal(504, ex.Error.Status);
    }

    [Fact]
    public async Task A_reset_connection_is_502()
    {
        _server.EnqueueFault(new ConnectionReset());
        var d = Deployment(ProviderKind.OpenAi);
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), default));
        Assert.Equal(502, ex.Error.Status);
    }

    [Theory]
    [InlineData(ProviderKind.OpenAi)]
    [InlineData(ProviderKind.Anthropic)]
    public async Task A_broken_stream_fails_after_the_chunks_already_relayed(string provider)
    {
        _server.Enqueue(new FakeReply { Text = "a b c d e f g h" });
        _server.EnqueueFault(new BrokenStream(2));
        var d = Deployment(provider);
        await using var stream = await Provider(d).OpenStreamAsync(Request("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", d), default);
        var received = 0;
        var ex = await Assert.ThrowsAsync<GatewayException>(async () =>
        {
            while (await stream.ReadAsync(default) is not null) received++;
        });
        Assert.Equal(502, ex.Error.Status);
        Assert.True(received >= 1);
        Assert.Null(stream.Usage);
    }

    [Fact]
    public async Task Client_cancellation_cancels_the_upstream_call()
    {
        _server.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        var d = Deployment(ProviderKind.OpenAi);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider(d).CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", d), cts.Token));
    }

    private sealed class Secrets : ISecretResolver
    {
        public string? Resolve(string settingName) => settingName == "KEY" ? Secret : null;
    }

    private sealed class FakeTokens : IAccessTokenSource
    {
        public ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken) => ValueTask.FromResult("token-for-" + scope);
    }
}
