using System.ClientModel;
using System.Text.Json;
using Gateway.Functions.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Functions.Tests.EndToEnd;

/// <summary>The official OpenAI .NET SDK, unmodified, pointed at the gateway over real HTTP.</summary>
public sealed class OpenAiSdkTests : IAsyncLifetime
{
    private readonly TestGateway _gateway = new();
    private GatewayTestServer _server = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _server = await GatewayTestServer.StartAsync(_gateway);
        _key = await _gateway.CreateKeyAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ChatClient Client(string model, string? key = null) =>
        new(model, new ApiKeyCredential(key ?? _key), new OpenAIClientOptions { Endpoint = new Uri(_server.BaseUri, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task Sdk_completes_a_chat()
    {
        ChatCompletion completion = await Client("mock-1").CompleteChatAsync([new SystemChatMessage("be brief"), new UserChatMessage("hello there")]);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Sdk_streams_and_gets_usage()
    {
        var options = new ChatCompletionOptions();
        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Client("mock-1").CompleteChatStreamingAsync([new UserChatMessage("stream please")], options))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        ChatCompletion whole = await Client("mock-1").CompleteChatAsync([new UserChatMessage("stream please")]);
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Sdk_calls_tools()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather") };
        ChatCompletion completion = await Client("mock-1").CompleteChatAsync([new UserChatMessage("weather in Oslo?")], options);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);

        // The tool result goes back through the gateway too.
        ChatCompletion next = await Client("mock-1").CompleteChatAsync(
            [new UserChatMessage("weather in Oslo?"), new AssistantChatMessage(completion), new ToolChatMessage(call.Id, """{"temp":3}""")],
            new ChatCompletionOptions { Tools = { tool } });
        Assert.Equal(ChatFinishReason.Stop, next.FinishReason);
    }

    [Fact]
    public async Task Sdk_streams_tool_calls()
    {
        var tool = ChatTool.CreateFunctionTool("lookup", "Look something up");
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        var names = new List<string>();
        ChatFinishReason? finish = null;
        await foreach (var update in Client("mock-1").CompleteChatStreamingAsync([new UserChatMessage("look it up")], options))
        {
            names.AddRange(update.ToolCallUpdates.Where(t => t.FunctionName is not null).Select(t => t.FunctionName));
            finish ??= update.FinishReason;
        }
        Assert.Equal(["lookup"], names);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task Sdk_json_mode_returns_json()
    {
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(), Seed = 42, Temperature = 0, MaxOutputTokenCount = 50 };
        ChatCompletion completion = await Client("mock-1").CompleteChatAsync([new UserChatMessage("json please")], options);
        using var doc = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
    }

    [Fact]
    public async Task Sdk_sees_gateway_errors_as_client_result_exceptions()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Client("mock-1", "sk-gw-wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, ex.Status);
        ex = await Assert.ThrowsAsync<ClientResultException>(() => Client("no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task Sdk_lists_models()
    {
        var models = new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = new Uri(_server.BaseUri, "v1") });
        var list = await models.GetModelsAsync();
        Assert.Contains(list.Value, m => m.Id == "mock-1");
    }
}
