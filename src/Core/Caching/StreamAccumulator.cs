using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Core.Caching;

/// <summary>
/// Folds a stream of <c>chat.completion.chunk</c>s back into the <c>chat.completion</c> it stands for: per choice the
/// role, the content, a refusal, tool calls (their argument fragments joined in order), log probabilities and the finish
/// reason. <see cref="TryBuild"/> gives the completion only when every choice finished, so an interrupted stream is
/// never mistaken for a whole answer.
/// </summary>
public sealed class StreamAccumulator
{
    private readonly SortedDictionary<int, Choice> _choices = [];
    private JsonNode? _id;
    private JsonNode? _created;
    private JsonNode? _model;
    private JsonNode? _fingerprint;

    private sealed class Choice
    {
        public string Role = "assistant";
        public StringBuilder? Content;
        public StringBuilder? Refusal;
        public SortedDictionary<int, ToolCall>? Calls;
        public JsonArray? Logprobs;
        public JsonNode? FinishReason;
    }

    private sealed class ToolCall
    {
        public JsonNode? Id;
        public string Type = "function";
        public string? Name;
        public readonly StringBuilder Arguments = new();
    }

    /// <summary>Takes one chunk (before anything downstream changes it).</summary>
    public void Add(JsonObject chunk)
    {
        _id ??= chunk["id"]?.DeepClone();
        _created ??= chunk["created"]?.DeepClone();
        _model ??= chunk["model"]?.DeepClone();
        _fingerprint ??= chunk["system_fingerprint"]?.DeepClone();
        if (chunk["choices"] is not JsonArray choices) return;
        foreach (var node in choices)
        {
            if (node is not JsonObject c) continue;
            var index = c["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
            if (!_choices.TryGetValue(index, out var choice)) _choices[index] = choice = new Choice();
            if (c["delta"] is JsonObject delta)
            {
                if (delta["role"] is JsonValue role && role.TryGetValue<string>(out var r)) choice.Role = r;
                if (delta["content"] is JsonValue content && content.TryGetValue<string>(out var text)) (choice.Content ??= new StringBuilder()).Append(text);
                if (delta["refusal"] is JsonValue refusal && refusal.TryGetValue<string>(out var refused)) (choice.Refusal ??= new StringBuilder()).Append(refused);
                if (delta["tool_calls"] is JsonArray calls)
                {
                    foreach (var callNode in calls)
                    {
                        if (callNode is not JsonObject call) continue;
                        var at = call["index"] is JsonValue ci && ci.TryGetValue<int>(out var k) ? k : 0;
                        choice.Calls ??= [];
                        if (!choice.Calls.TryGetValue(at, out var tool)) choice.Calls[at] = tool = new ToolCall();
                        if (call["id"] is JsonValue id) tool.Id ??= id.DeepClone();
                        if (call["type"] is JsonValue type && type.TryGetValue<string>(out var t)) tool.Type = t;
                        if (call["function"]?["name"] is JsonValue name && name.TryGetValue<string>(out var nm)) tool.Name = (tool.Name ?? "") + nm;
                        if (call["function"]?["arguments"] is JsonValue args && args.TryGetValue<string>(out var a)) tool.Arguments.Append(a);
                    }
                }
            }

            if (c["logprobs"]?["content"] is JsonArray logprobs)
            {
                choice.Logprobs ??= [];
                foreach (var item in logprobs) choice.Logprobs.Add(item?.DeepClone());
            }

            if (c["finish_reason"] is JsonValue finish) choice.FinishReason = finish.DeepClone();
        }
    }

    /// <summary>The whole completion, or null when the stream had no choices or a choice did not finish.</summary>
    public JsonObject? TryBuild()
    {
        if (_choices.Count == 0 || _choices.Values.Any(c => c.FinishReason is null)) return null;
        var choices = new JsonArray();
        foreach (var (index, c) in _choices)
        {
            var message = new JsonObject { ["role"] = c.Role, ["content"] = c.Content?.ToString() };
            if (c.Refusal is not null) message["refusal"] = c.Refusal.ToString();
            if (c.Calls is not null)
            {
                message["tool_calls"] = new JsonArray([.. c.Calls.Values.Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = t.Id?.DeepClone(), ["type"] = t.Type,
                    ["function"] = new JsonObject { ["name"] = t.Name, ["arguments"] = t.Arguments.ToString() },
                })]);
            }

            choices.Add(new JsonObject
            {
                ["index"] = index, ["message"] = message,
                ["logprobs"] = c.Logprobs is null ? null : new JsonObject { ["content"] = c.Logprobs },
                ["finish_reason"] = c.FinishReason?.DeepClone(),
            });
        }

        var completion = new JsonObject
        {
            ["id"] = _id?.DeepClone(), ["object"] = "chat.completion", ["created"] = _created?.DeepClone(), ["model"] = _model?.DeepClone(),
            ["choices"] = choices,
        };
        if (_fingerprint is not null) completion["system_fingerprint"] = _fingerprint.DeepClone();
        return completion;
    }
}
