using System.Text;
using System.Text.Json.Nodes;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Core.Configuration;

namespace Gateway.Functions.Tests.Functions;

public sealed class ChatCompletionsFunctionTests
{
    private const string Hello = """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""";

    private static async Task<(Microsoft.AspNetCore.Http.DefaultHttpContext Context, JsonObject? Body)> Post(TestGateway gateway, string body, string? key, IDictionary<string, string>? headers = null)
    {
        var context = TestGateway.Request("POST", "/v1/chat/completions", body, key, headers);
        await gateway.Chat.Run(context.Request);
        var text = TestGateway.ResponseText(context);
        return (context, context.Response.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true ? JsonNode.Parse(text) as JsonObject : null);
    }

    [Fact]
    public async Task Completes_with_the_mock_provider_and_sets_gateway_headers()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var (context, body) = await Post(gateway, Hello, key, new Dictionary<string, string> { ["x-request-id"] = "client-req-1" });

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("chat.completion", (string?)body!["object"]);
        Assert.False(string.IsNullOrEmpty((string?)body["choices"]![0]!["message"]!["content"]));
        Assert.True((int)body["usage"]!["total_tokens"]! > 0);
        Assert.Equal("client-req-1", context.Response.Headers["x-request-id"].ToString());
        Assert.Equal("mock", context.Response.Headers["x-gateway-provider"].ToString());
        Assert.Equal("mock", context.Response.Headers["x-gateway-deployment"].ToString());
        Assert.Equal("mock-1", context.Response.Headers["x-gateway-model"].ToString());
        Assert.True(long.TryParse(context.Response.Headers["x-gateway-latency-ms"].ToString(), out _));
    }

    [Fact]
    public async Task Generates_a_request_id_when_the_client_sends_none()
    {
        var gateway = new TestGateway();
        var (context, _) = await Post(gateway, Hello, await gateway.CreateKeyAsync());
        Assert.StartsWith("req_", context.Response.Headers["x-request-id"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streams_server_sent_events_ending_with_done()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var context = TestGateway.Request("POST", "/v1/chat/completions",
            """{"model":"mock","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""", key);
        await gateway.Chat.Run(context.Request);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.StartsWith("text/event-stream", context.Response.ContentType, StringComparison.Ordinal);
        var all = TestGateway.ResponseText(context).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", all[^1]);
        // the gateway closes with an SSE comment carrying the cost (clients ignore comments)
        Assert.StartsWith(": x-gateway-cost-usd=", all[^2], StringComparison.Ordinal);
        var events = all.Where(e => !e.StartsWith(':')).ToArray();
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.True((int)chunks[^1]["usage"]!["completion_tokens"]! > 0);
        var text = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => (string?)c!["delta"]?["content"]));
        Assert.False(string.IsNullOrWhiteSpace(text));
    }

    [Fact]
    public async Task Stream_without_include_usage_has_no_usage_chunk()
    {
        var gateway = new TestGateway();
        var context = TestGateway.Request("POST", "/v1/chat/completions",
            """{"model":"mock","stream":true,"messages":[{"role":"user","content":"hi"}]}""", await gateway.CreateKeyAsync());
        await gateway.Chat.Run(context.Request);
        var text = TestGateway.ResponseText(context);
        Assert.DoesNotContain("\"usage\"", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "missing_api_key")]
    [InlineData("sk-gw-not-a-real-key", "invalid_api_key")]
    public async Task Rejects_missing_or_unknown_keys_with_401(string? key, string code)
    {
        var gateway = new TestGateway();
        var (context, body) = await Post(gateway, Hello, key);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal(code, (string?)body!["error"]!["code"]);
        Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
    }

    [Fact]
    public async Task Rejects_revoked_keys_with_401()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var id = (await gateway.Runtime.Keys.ListAsync(CancellationToken.None)).Single().Id;
        Assert.Equal(200, (await Post(gateway, Hello, key)).Context.Response.StatusCode);
        await gateway.Runtime.Keys.RevokeAsync(id, CancellationToken.None);
        var (context, body) = await Post(gateway, Hello, key);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("invalid_api_key", (string?)body!["error"]!["code"]);
    }

    [Fact]
    public async Task Accepts_the_azure_style_api_key_header()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var (context, _) = await Post(gateway, Hello, null, new Dictionary<string, string> { ["api-key"] = key });
        Assert.Equal(200, context.Response.StatusCode);
    }

    [Fact]
    public async Task Refuses_a_model_the_key_may_not_use_with_403()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync("limited", null, null, "mock-2");
        var (context, body) = await Post(gateway, Hello, key);
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Equal("model_not_allowed", (string?)body!["error"]!["code"]);
        Assert.Equal("model", (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task Unknown_model_is_404()
    {
        var gateway = new TestGateway();
        var (context, body) = await Post(gateway, """{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", await gateway.CreateKeyAsync());
        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("model_not_found", (string?)body!["error"]!["code"]);
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("[]", null)]
    [InlineData("""{"model":"mock-1"}""", "messages")]
    [InlineData("""{"model":"mock-1","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"mock-1","messages":[{"role":"user","content":"x"}],"temperature":9}""", "temperature")]
    [InlineData("""{"model":"mock-1","messages":[{"role":"user","content":"x"}],"n":"two"}""", "n")]
    public async Task Bad_bodies_are_400_naming_the_param(string json, string? param)
    {
        var gateway = new TestGateway();
        var (context, body) = await Post(gateway, json, await gateway.CreateKeyAsync());
        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal(param, (string?)body!["error"]!["param"]);
        Assert.False(string.IsNullOrEmpty((string?)body["error"]!["message"]));
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        var gateway = new TestGateway(configure: o => o.MaxRequestBodyBytes = 1024);
        var big = """{"model":"mock-1","messages":[{"role":"user","content":"__"}]}""".Replace("__", new string('a', 4096), StringComparison.Ordinal);
        var (context, body) = await Post(gateway, big, await gateway.CreateKeyAsync());
        Assert.Equal(413, context.Response.StatusCode);
        Assert.Equal("request_too_large", (string?)body!["error"]!["code"]);
    }

    [Fact]
    public async Task Body_over_the_limit_without_content_length_is_413()
    {
        var gateway = new TestGateway(configure: o => o.MaxRequestBodyBytes = 1024);
        var context = TestGateway.Request("POST", "/v1/chat/completions", new string(' ', 5000) + Hello, await gateway.CreateKeyAsync());
        context.Request.ContentLength = null;
        await gateway.Chat.Run(context.Request);
        Assert.Equal(413, context.Response.StatusCode);
    }

    [Fact]
    public async Task A_cancelled_client_gets_no_answer_and_no_exception_escapes()
    {
        var gateway = new TestGateway(configure: o => o.Catalog.Deployments[0].MockLatencyMs = 5000);
        var context = TestGateway.Request("POST", "/v1/chat/completions", Hello, await gateway.CreateKeyAsync());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        context.RequestAborted = cts.Token;
        await gateway.Chat.Run(context.Request);
        Assert.Equal(0, context.Response.Body.Length);
    }

    [Fact]
    public async Task Random_bytes_never_produce_a_500()
    {
        var gateway = new TestGateway();
        var key = await gateway.CreateKeyAsync();
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            var text = i % 2 == 0 ? Encoding.Latin1.GetString(bytes) : """{"model":"mock-1","messages":[{"role":"user","content":""" + "\"" + Convert.ToBase64String(bytes) + "\"}]" + (i % 3 == 0 ? "" : ",\"n\":" + random.Next(-5, 300)) + "}";
            var (context, _) = await Post(gateway, text, key);
            Assert.True(context.Response.StatusCode is 200 or 400, $"status {context.Response.StatusCode} for input {i}");
        }
    }
}

/// <summary>A stream that breaks after its first bytes ends with an error event and an aborted connection.</summary>
public sealed class BrokenStreamTests
{
    private sealed class AbortFeature : Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; }
        public bool Aborted { get; private set; }
        public void Abort() => Aborted = true;
    }

    /// <summary>Two SSE chunks, then the connection fails.</summary>
    private sealed class BreakingBody() : MemoryStream(Encoding.UTF8.GetBytes(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"))
    {
        public override int Read(byte[] buffer, int offset, int count) => Position < Length ? base.Read(buffer, offset, count) : throw new IOException("connection reset by peer");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position < Length) return await base.ReadAsync(buffer, cancellationToken);
            await Task.Yield();
            throw new IOException("connection reset by peer");
        }
    }

    private sealed class Upstream : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new StreamContent(new BreakingBody());
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content });
        }
    }

    [Fact]
    public async Task A_stream_broken_mid_way_ends_with_an_error_event_no_done_and_an_aborted_connection()
    {
        var gateway = new TestGateway(configure: o =>
        {
            o.Catalog.Deployments.Add(new DeploymentOptions { Name = "up", Provider = "openai", Model = "gpt-4o-mini", Endpoint = "http://upstream.test/v1", ApiKeySetting = "UP_KEY" });
            o.Catalog.Models.Add(new ModelOptions { Name = "up-model", Deployments = ["up"] });
        }, secrets: new Dictionary<string, string?> { ["UP_KEY"] = "sk-upstream" }, upstream: new HttpClient(new Upstream()));
        var key = await gateway.CreateKeyAsync();
        var context = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"up-model","stream":true,"messages":[{"role":"user","content":"hi"}]}""", key);
        var lifetime = new AbortFeature();
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature>(lifetime);

        await gateway.ChatAsync(context.Request);

        var text = TestGateway.ResponseText(context);
        Assert.Contains("\"content\":\"Hel\"", text, StringComparison.Ordinal);
        Assert.Contains("data: {\"error\":", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.True(lifetime.Aborted, "the connection was aborted after the error event");
        var record = Assert.Single(gateway.UsageRecords);
        Assert.NotEqual(200, record.Status);
    }
}

/// <summary>A failure's cause reaches the log (redacted), never the client.</summary>
public sealed class FailureLoggingTests
{
    private sealed class CapturingLogger : Microsoft.Extensions.Logging.ILogger<ChatCompletionsFunction>
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }

    [Fact]
    public async Task An_upstream_failure_is_logged_with_its_cause_and_the_client_gets_only_the_openai_error()
    {
        var gateway = new TestGateway(configure: o =>
        {
            // nothing listens on the discard port
            o.Catalog.Deployments.Add(new DeploymentOptions { Name = "down", Provider = "openai-compatible", Model = "gpt-4o", Endpoint = "http://127.0.0.1:9/v1", Pricing = { Free = true } });
            o.Catalog.Models.Add(new ModelOptions { Name = "down-model", Deployments = ["down"] });
        });
        var logger = new CapturingLogger();
        var chat = new ChatCompletionsFunction(gateway.Runtime, logger, gateway.AfterResponse);
        var key = await gateway.CreateKeyAsync();
        var context = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"down-model","messages":[{"role":"user","content":"hi"}]}""", key);
        await chat.Run(context.Request);

        Assert.Equal(502, context.Response.StatusCode);
        var body = TestGateway.ResponseText(context);
        Assert.DoesNotContain("127.0.0.1:9", body, StringComparison.Ordinal);
        var line = Assert.Single(logger.Lines, l => l.Contains("failed with 502", StringComparison.Ordinal));
        Assert.Contains("Cause: HttpRequestException", line, StringComparison.Ordinal);
    }
}
