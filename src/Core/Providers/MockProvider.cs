using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Providers;

/// <summary>
/// The offline provider: deterministic replies (the same request always gets the same answer), usage
/// counted in words, streaming, tool calls when a tool is required, JSON when JSON is asked for, and
/// configurable latency, chunk delay and length. It is what a fresh install and the benchmarks use.
/// </summary>
public sealed class MockProvider(DeploymentOptions deployment, TimeProvider time) : IChatProvider
{
    private DeploymentOptions Deployment { get; } = deployment;
    private TimeProvider Time { get; } = time;

    private static readonly string[] Vocabulary =
    [
        "the", "gateway", "answers", "every", "request", "with", "care", "and", "counts", "each", "token",
        "so", "budgets", "hold", "while", "streams", "flow", "through", "one", "endpoint", "that", "never",
        "surprises", "anyone", "who", "asks", "a", "question", "about", "cost", "speed", "or", "safety",
    ];

    public async Task<ProviderCompletion> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        if (Deployment.MockLatencyMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(Deployment.MockLatencyMs), Time, cancellationToken).ConfigureAwait(false);
        var reply = Compose(request.Chat);
        var choices = new JsonArray();
        for (var i = 0; i < request.Chat.N; i++)
        {
            var message = new JsonObject { ["role"] = "assistant" };
            if (reply.ToolName is not null)
            {
                message["content"] = null;
                message["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = ToolCallId(reply, i),
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = reply.ToolName, ["arguments"] = "{}" },
                });
            }
            else
            {
                message["content"] = reply.Text;
            }
            message["refusal"] = null;
            choices.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = message,
                ["logprobs"] = request.Chat.Logprobs && reply.ToolName is null ? Logprobs(reply.Words) : null,
                ["finish_reason"] = reply.FinishReason,
            });
        }
        var usage = UsageOf(request.Chat, reply);
        var body = new JsonObject
        {
            ["id"] = reply.Id,
            ["object"] = "chat.completion",
            ["created"] = Time.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = ModelName(request),
            ["choices"] = choices,
            ["usage"] = usage.ToJson(),
            ["system_fingerprint"] = "fp_mock",
        };
        return new ProviderCompletion(body, usage);
    }

    public async Task<IChatStream> OpenStreamAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        if (Deployment.MockLatencyMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(Deployment.MockLatencyMs), Time, cancellationToken).ConfigureAwait(false);
        var reply = Compose(request.Chat);
        return new MockStream(this, request, reply, UsageOf(request.Chat, reply));
    }

    private string ModelName(ProviderRequest request) => string.IsNullOrEmpty(Deployment.Model) ? request.Chat.Model : Deployment.Model;

    private static string ToolCallId(Reply reply, int choice) => $"call_{reply.Id[^12..]}{choice.ToString(CultureInfo.InvariantCulture)}";

    private sealed record Reply(string Id, string Text, IReadOnlyList<string> Words, string FinishReason, string? ToolName);

    private Reply Compose(ChatRequest request)
    {
        var hash = 14695981039346656037UL;
        foreach (var m in request.Messages)
        {
            foreach (var ch in m.Role) hash = (hash ^ ch) * 1099511628211UL;
            foreach (var ch in m.Text) hash = (hash ^ ch) * 1099511628211UL;
        }
        var id = "chatcmpl-mock-" + hash.ToString("x16", CultureInfo.InvariantCulture);

        var toolName = ToolToCall(request);
        if (toolName is not null) return new Reply(id, "", [], "tool_calls", toolName);

        var wanted = Deployment.MockCompletionTokens;
        var count = Math.Min(wanted, request.MaxOutputTokens ?? int.MaxValue);
        var words = new List<string>(count);
        var state = hash;
        for (var i = 0; i < count; i++)
        {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            words.Add(Vocabulary[(int)(state % (ulong)Vocabulary.Length)]);
        }
        var text = string.Join(' ', words);
        if (request.ResponseFormat != "text") text = new JsonObject { ["reply"] = text }.ToJsonString();
        return new Reply(id, text, words, count < wanted ? "length" : "stop", null);
    }

    private static string? ToolToCall(ChatRequest request)
    {
        if (!request.HasTools) return null;
        var choice = request.Body["tool_choice"];
        if (choice is JsonObject o) return (string?)o["function"]?["name"];
        if (choice is JsonValue v && (string?)v == "required") return (string?)request.Body["tools"]?[0]?["function"]?["name"];
        return null;
    }

    /// <summary>Prompt tokens: words of every message plus a fixed overhead per message, as real tokenizers add.</summary>
    private static TokenUsage UsageOf(ChatRequest request, Reply reply)
    {
        var prompt = 3;
        foreach (var m in request.Messages) prompt += 4 + CountWords(m.Text);
        var completion = reply.ToolName is not null ? 5 : Math.Max(1, reply.Words.Count);
        return new TokenUsage(prompt, completion * request.N);
    }

    private static int CountWords(string text)
    {
        var count = 0;
        var inWord = false;
        foreach (var ch in text)
        {
            if (char.IsWhiteSpace(ch)) inWord = false;
            else if (!inWord) { inWord = true; count++; }
        }
        return count;
    }

    private static JsonObject Logprobs(IReadOnlyList<string> words) => new()
    {
        ["content"] = new JsonArray(words.Select((w, i) => (JsonNode)new JsonObject
        {
            ["token"] = i == 0 ? w : " " + w,
            ["logprob"] = -0.01 * (i % 7),
            ["bytes"] = new JsonArray(Encoding.UTF8.GetBytes(i == 0 ? w : " " + w).Select(b => (JsonNode)(int)b).ToArray()),
            ["top_logprobs"] = new JsonArray(),
        }).ToArray()),
        ["refusal"] = null,
    };

    private sealed class MockStream(MockProvider owner, ProviderRequest request, Reply reply, TokenUsage usage) : IChatStream
    {
        private readonly long _created = owner.Time.GetUtcNow().ToUnixTimeSeconds();
        private int _step;
        private bool _done;

        public TokenUsage? Usage { get; private set; }

        public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            if (_done) return null;
            var step = _step++;
            if (step > 0 && owner.Deployment.MockChunkDelayMs > 0)
                await Task.Delay(TimeSpan.FromMilliseconds(owner.Deployment.MockChunkDelayMs), owner.Time, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();

            // Per choice: a role chunk, then content chunks, then a finish chunk; then one usage chunk.
            var n = request.Chat.N;
            var pieces = reply.ToolName is not null ? 1 : Math.Max(1, reply.Words.Count);
            var perChoice = pieces + 2;
            if (step < perChoice * n)
            {
                var choice = step / perChoice;
                var i = step % perChoice;
                if (i == 0) return Chunk(choice, new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null, null);
                if (i == perChoice - 1) return Chunk(choice, new JsonObject(), reply.FinishReason, null);
                if (reply.ToolName is not null)
                {
                    return Chunk(choice, new JsonObject
                    {
                        ["tool_calls"] = new JsonArray(new JsonObject
                        {
                            ["index"] = 0,
                            ["id"] = ToolCallId(reply, choice),
                            ["type"] = "function",
                            ["function"] = new JsonObject { ["name"] = reply.ToolName, ["arguments"] = "{}" },
                        }),
                    }, null, null);
                }
                var piece = request.Chat.ResponseFormat != "text"
                    ? (i == 1 ? reply.Text : "")
                    : (i == 1 ? reply.Words[0] : " " + reply.Words[i - 1]);
                var logprobs = request.Chat.Logprobs && request.Chat.ResponseFormat == "text"
                    ? new JsonObject { ["content"] = new JsonArray(new JsonObject { ["token"] = piece, ["logprob"] = -0.01 * ((i - 1) % 7), ["bytes"] = new JsonArray(Encoding.UTF8.GetBytes(piece).Select(b => (JsonNode)(int)b).ToArray()), ["top_logprobs"] = new JsonArray() }), ["refusal"] = null }
                    : null;
                return Chunk(choice, new JsonObject { ["content"] = piece }, null, logprobs);
            }
            _done = true;
            Usage = usage;
            return new JsonObject
            {
                ["id"] = reply.Id,
                ["object"] = "chat.completion.chunk",
                ["created"] = _created,
                ["model"] = owner.ModelName(request),
                ["system_fingerprint"] = "fp_mock",
                ["choices"] = new JsonArray(),
                ["usage"] = usage.ToJson(),
            };
        }

        private JsonObject Chunk(int index, JsonObject delta, string? finishReason, JsonObject? logprobs) => new()
        {
            ["id"] = reply.Id,
            ["object"] = "chat.completion.chunk",
            ["created"] = _created,
            ["model"] = owner.ModelName(request),
            ["system_fingerprint"] = "fp_mock",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = index,
                ["delta"] = delta,
                ["logprobs"] = logprobs,
                ["finish_reason"] = finishReason,
            }),
        };

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
