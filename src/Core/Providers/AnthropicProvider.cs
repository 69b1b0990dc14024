using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Providers;

/// <summary>Anthropic's Messages API, translated to and from OpenAI chat completions (streams included).</summary>
public sealed class AnthropicProvider : HttpChatProvider
{
    private readonly Uri _url;
    private readonly string? _apiKey;
    private readonly TimeProvider _time;

    public AnthropicProvider(HttpClient http, DeploymentOptions deployment, ISecretResolver secrets, TimeProvider time)
        : base(http, deployment, ProviderKind.Anthropic)
    {
        _time = time;
        _apiKey = deployment.ApiKeySetting is null ? null : secrets.Resolve(deployment.ApiKeySetting);
        _url = new Uri((deployment.Endpoint ?? "https://api.anthropic.com").TrimEnd('/') + "/v1/messages");
    }

    protected override ValueTask<HttpRequestMessage> CreateRequestAsync(ProviderRequest request, bool stream, CancellationToken cancellationToken)
    {
        var body = AnthropicTranslator.ToAnthropic(request.Chat, Deployment, stream);
        var message = new HttpRequestMessage(HttpMethod.Post, _url) { Content = Json(body) };
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        message.Headers.TryAddWithoutValidation("anthropic-version", Deployment.AnthropicVersion);
        if (!string.IsNullOrEmpty(_apiKey)) message.Headers.TryAddWithoutValidation("x-api-key", _apiKey);
        return ValueTask.FromResult(message);
    }

    protected override ProviderCompletion ReadCompletion(JsonObject upstream, ProviderRequest request) =>
        AnthropicTranslator.FromAnthropic(upstream, request.Chat, _time.GetUtcNow().ToUnixTimeSeconds());

    protected override ChatStreamBase CreateStream(StreamContext context, ProviderRequest request) =>
        new AnthropicStream(context, request.Chat, _time.GetUtcNow().ToUnixTimeSeconds());

    /// <summary>Turns Anthropic stream events into OpenAI chunks, one event at a time.</summary>
    private sealed class AnthropicStream(StreamContext context, ChatRequest request, long created) : ChatStreamBase(context)
    {
        private readonly bool _jsonMode = request.ResponseFormat != "text" && !request.HasTools;
        private readonly Dictionary<int, int> _toolIndexByBlock = [];
        private readonly HashSet<int> _jsonBlocks = [];
        private readonly Queue<JsonObject> _pending = new();
        private string _id = "msg";
        private string _model = request.Model;
        private JsonNode? _startUsage;
        private int _outputTokens;
        private bool _finished;

        protected override async ValueTask<JsonObject?> ReadCoreAsync(CancellationToken cancellationToken)
        {
            while (_pending.Count == 0)
            {
                if (_finished) return null;
                var sse = await Context.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (sse is null) throw Errors.Errors.UpstreamError(Context.Label, null, new IOException("The upstream stream ended before message_stop."));
                if (sse.Value.Data.Length == 0) continue;
                var data = JsonNode.Parse(sse.Value.Data) as JsonObject ?? throw new JsonException("event data is not an object");
                Handle(sse.Value.Event ?? (string?)data["type"], data);
            }
            return _pending.Dequeue();
        }

        private void Handle(string? type, JsonObject data)
        {
            switch (type)
            {
                case "message_start":
                    var message = data["message"];
                    _id = (string?)message?["id"] ?? _id;
                    _model = (string?)message?["model"] ?? _model;
                    _startUsage = message?["usage"]?.DeepClone();
                    _outputTokens = TokenUsage.Int(_startUsage?["output_tokens"]);
                    _pending.Enqueue(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }));
                    break;
                case "content_block_start":
                    var index = TokenUsage.Int(data["index"]);
                    var block = data["content_block"];
                    if ((string?)block?["type"] == "tool_use")
                    {
                        if (_jsonMode && (string?)block["name"] == AnthropicTranslator.JsonToolName) { _jsonBlocks.Add(index); break; }
                        var toolIndex = _toolIndexByBlock.Count;
                        _toolIndexByBlock[index] = toolIndex;
                        _pending.Enqueue(Chunk(new JsonObject
                        {
                            ["tool_calls"] = new JsonArray(new JsonObject
                            {
                                ["index"] = toolIndex,
                                ["id"] = (string?)block["id"],
                                ["type"] = "function",
                                ["function"] = new JsonObject { ["name"] = (string?)block["name"], ["arguments"] = "" },
                            }),
                        }));
                    }
                    else if ((string?)block?["type"] == "text" && block["text"] is JsonValue tv && ((string?)tv)?.Length > 0)
                    {
                        _pending.Enqueue(Chunk(new JsonObject { ["content"] = (string?)tv }));
                    }
                    break;
                case "content_block_delta":
                    var blockIndex = TokenUsage.Int(data["index"]);
                    var delta = data["delta"];
                    switch ((string?)delta?["type"])
                    {
                        case "text_delta":
                            _pending.Enqueue(Chunk(new JsonObject { ["content"] = (string?)delta["text"] }));
                            break;
                        case "input_json_delta" when _jsonBlocks.Contains(blockIndex):
                            _pending.Enqueue(Chunk(new JsonObject { ["content"] = (string?)delta["partial_json"] }));
                            break;
                        case "input_json_delta" when _toolIndexByBlock.TryGetValue(blockIndex, out var ti):
                            _pending.Enqueue(Chunk(new JsonObject
                            {
                                ["tool_calls"] = new JsonArray(new JsonObject
                                {
                                    ["index"] = ti,
                                    ["function"] = new JsonObject { ["arguments"] = (string?)delta["partial_json"] },
                                }),
                            }));
                            break;
                    }
                    break;
                case "message_delta":
                    if (data["usage"] is JsonObject u)
                    {
                        _outputTokens = Math.Max(_outputTokens, TokenUsage.Int(u["output_tokens"]));
                        if (_startUsage is JsonObject su)
                            foreach (var name in new[] { "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens" })
                                if (u[name] is JsonValue v && TokenUsage.Int(v) > TokenUsage.Int(su[name])) su[name] = v.DeepClone();
                    }
                    var finish = AnthropicTranslator.FinishReason((string?)data["delta"]?["stop_reason"], _jsonMode);
                    _pending.Enqueue(Chunk(new JsonObject(), finish));
                    break;
                case "message_stop":
                    var usage = AnthropicTranslator.Usage(_startUsage, _outputTokens);
                    UsageHolder.Value = usage;
                    _pending.Enqueue(new JsonObject
                    {
                        ["id"] = _id,
                        ["object"] = "chat.completion.chunk",
                        ["created"] = created,
                        ["model"] = _model,
                        ["choices"] = new JsonArray(),
                        ["usage"] = usage.ToJson(),
                    });
                    _finished = true;
                    break;
                case "error":
                    throw Errors.Errors.UpstreamError(Context.Label, null);
            }
        }

        private JsonObject Chunk(JsonObject delta, string? finishReason = null) => new()
        {
            ["id"] = _id,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = _model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["delta"] = delta,
                ["logprobs"] = null,
                ["finish_reason"] = finishReason,
            }),
        };
    }
}
