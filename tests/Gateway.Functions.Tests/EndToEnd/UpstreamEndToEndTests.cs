using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Configuration;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Functions.Tests.EndToEnd;

/// <summary>
/// The whole path over real sockets: the official OpenAI SDK → the gateway (function classes on Kestrel) → a fake
/// upstream speaking the OpenAI, Azure OpenAI or Anthropic wire format.
/// </summary>
public sealed class UpstreamEndToEndTests : IAsyncLifetime
{
    private const string UpstreamKey = "sk-upstream-e2e-secret";
    private FakeLlmServer _upstream = null!;
    private TestGateway _gateway = null!;
    private GatewayTestServer _server = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeLlmServer.StartAsync();
        _upstream.RequiredApiKey = UpstreamKey;
        var endpoint = _upstream.BaseUri.ToString();
        _gateway = new TestGateway(
            configure: o =>
            {
                o.Catalog = new CatalogOptions
                {
                    Deployments =
                    [
                        new DeploymentOptions { Name = "claude-main", Provider = ProviderKind.Anthropic, Model = "claude-sonnet-4-5", Endpoint = endpoint, ApiKeySetting = "ANTHROPIC_KEY" },
                        new DeploymentOptions { Name = "oai-main", Provider = ProviderKind.OpenAi, Model = "gpt-4o-2024-08-06", Endpoint = endpoint + "v1", ApiKeySetting = "OPENAI_KEY" },
                        new DeploymentOptions { Name = "aoai-main", Provider = ProviderKind.AzureOpenAi, Model = "gpt4o-prod", Endpoint = endpoint, ApiKeySetting = "AOAI_KEY", ApiVersion = "2024-10-21", Pricing = { PriceAs = "gpt-4o" } },
                    ],
                    Models =
                    [
                        new ModelOptions { Name = "claude", Deployments = ["claude-main"] },
                        new ModelOptions { Name = "gpt-4o", Deployments = ["oai-main"] },
                        new ModelOptions { Name = "gpt-4o-azure", Deployments = ["aoai-main"] },
                    ],
                };
            },
            secrets: new Dictionary<string, string?> { ["ANTHROPIC_KEY"] = UpstreamKey, ["OPENAI_KEY"] = UpstreamKey, ["AOAI_KEY"] = UpstreamKey });
        _server = await GatewayTestServer.StartAsync(_gateway);
        _key = await _gateway.CreateKeyAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private ChatClient Client(string model) =>
        new(model, new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = new Uri(_server.BaseUri, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private HttpClient Http()
    {
        var http = new HttpClient { BaseAddress = _server.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        return http;
    }

    [Theory]
    [InlineData("claude", "claude-sonnet-4-5")]
    [InlineData("gpt-4o", "gpt-4o-2024-08-06")]
    [InlineData("gpt-4o-azure", "gpt4o-prod")]
    public async Task Sdk_chat_through_each_provider(string model, string served)
    {
        _upstream.Enqueue(new FakeReply { Text = "forty-two", PromptTokens = 200, CachedPromptTokens = 50, CompletionTokens = 3 });
        ChatCompletion completion = await Client(model).CompleteChatAsync([new SystemChatMessage("answer briefly"), new UserChatMessage("meaning of life?")]);

        Assert.Equal("forty-two", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(200, completion.Usage.InputTokenCount);
        Assert.Equal(50, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
        // Like OpenAI itself ("gpt-4o" answered by "gpt-4o-2024-08-06"), the response names the model that served it.
        Assert.Equal(served, completion.Model);
        Assert.DoesNotContain(UpstreamKey, _upstream.Requests.Single().Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_streams_text_and_tool_calls_translated_from_anthropic()
    {
        _upstream.Enqueue(new FakeReply
        {
            Text = "Checking the weather now",
            ToolCalls = [new FakeToolCall("toolu_01", "get_weather", """{"city":"Paris","days":3}""")],
            PromptTokens = 90,
            CacheWriteTokens = 40,
            CompletionTokens = 25,
        });
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };
        var text = new StringBuilder();
        var arguments = new StringBuilder();
        string? toolId = null, toolName = null;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Client("claude").CompleteChatStreamingAsync([new UserChatMessage("weather in Paris?")], options))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            foreach (var call in update.ToolCallUpdates)
            {
                toolId ??= call.ToolCallId;
                toolName ??= call.FunctionName;
                if (call.FunctionArgumentsUpdate is { } args) arguments.Append(args.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Checking the weather now", text.ToString());
        Assert.Equal("toolu_01", toolId);
        Assert.Equal("get_weather", toolName);
        Assert.Equal("""{"city":"Paris","days":3}""", arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotNull(usage);
        Assert.Equal(90, usage!.InputTokenCount);
        Assert.Equal(25, usage.OutputTokenCount);

        var sent = JsonDocument.Parse(_upstream.Requests.Single().Body).RootElement;
        Assert.Equal("get_weather", sent.GetProperty("tools")[0].GetProperty("name").GetString());
        Assert.True(sent.GetProperty("stream").GetBoolean());
    }

    [Fact]
    public async Task Sdk_sends_tool_results_back_to_anthropic_as_tool_result_blocks()
    {
        _upstream.Enqueue(new FakeReply { Text = "It is 21C in Paris." });
        var assistant = new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("toolu_9", "get_weather", BinaryData.FromString("""{"city":"Paris"}"""))]);
        ChatCompletion completion = await Client("claude").CompleteChatAsync(
            [new UserChatMessage("weather?"), assistant, new ToolChatMessage("toolu_9", """{"temp":21}""")]);

        Assert.Equal("It is 21C in Paris.", completion.Content[0].Text);
        var messages = JsonDocument.Parse(_upstream.Requests.Single().Body).RootElement.GetProperty("messages");
        Assert.Equal("tool_use", messages[1].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("Paris", messages[1].GetProperty("content")[0].GetProperty("input").GetProperty("city").GetString());
        var result = messages[2].GetProperty("content")[0];
        Assert.Equal("user", messages[2].GetProperty("role").GetString());
        Assert.Equal("tool_result", result.GetProperty("type").GetString());
        Assert.Equal("toolu_9", result.GetProperty("tool_use_id").GetString());
    }

    [Theory]
    [InlineData("claude")]
    [InlineData("gpt-4o")]
    public async Task Streams_are_relayed_as_produced_not_buffered(string model)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.StreamGate = gate.Task;
        _upstream.Enqueue(new FakeReply { Text = "first second third" });
        using var http = Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"go"}]}""", Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(model == "claude" ? "anthropic" : "openai", response.Headers.GetValues("x-gateway-provider").Single());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The upstream has sent exactly one event and is held at the gate: the client must already have it.
        var first = await ReadDataLine(reader).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.NotNull(first);
        Assert.False(gate.Task.IsCompleted);
        Assert.Equal("assistant", JsonDocument.Parse(first).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());

        gate.SetResult();
        var rest = new StringBuilder();
        string? line;
        while ((line = await ReadDataLine(reader)) is not null && line != "[DONE]")
        {
            var choices = JsonDocument.Parse(line).RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) rest.Append(c.GetString());
        }

        Assert.Equal("[DONE]", line);
        Assert.Equal("first second third", rest.ToString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_that_disconnects_cancels_the_upstream_call(bool stream)
    {
        var gate = new TaskCompletionSource();
        if (stream) _upstream.StreamGate = gate.Task;
        else _upstream.EnqueueFault(new Hang(TimeSpan.FromMinutes(2)));
        using var http = Http();
        using var cts = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"go"}]}""", Encoding.UTF8, "application/json"),
        };
        var send = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (stream)
        {
            using var response = await send;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.NotNull(await ReadDataLine(reader).WaitAsync(TimeSpan.FromSeconds(20)));
        }
        else
        {
            await WaitUntil(() => _upstream.RequestCount == 1);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        }

        // Disposing the response (stream) or cancelling (non-stream) closes the client connection; the gateway
        // must then abandon its upstream call rather than let it run on.
        await WaitUntil(() => _upstream.AbandonedCount == 1);
        gate.TrySetResult();
        Assert.Equal(1, _upstream.AbandonedCount);
    }

    [Fact]
    public async Task Upstream_rate_limit_reaches_the_sdk_as_429_with_retry_after()
    {
        _upstream.EnqueueFault(new RateLimited(12));
        using var http = Http();
        using var response = await http.PostAsync("v1/chat/completions",
            new StringContent("""{"model":"claude","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(12), response.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.NotEmpty(response.Headers.GetValues("x-request-id").Single());
    }

    private static async Task<string?> ReadDataLine(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) return line["data: ".Length..];
        }

        return null;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), "condition not met within 20 s");
    }
}
