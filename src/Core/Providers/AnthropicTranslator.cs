using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Providers;

/// <summary>
/// Translates between OpenAI chat completions and Anthropic's Messages API, both ways: system and
/// developer messages, multi-part content and images, tool calls and results, stop reasons, usage
/// (cache reads and writes), and JSON output (emulated with a forced tool, as Anthropic has no response_format).
/// </summary>
public static class AnthropicTranslator
{
    /// <summary>The tool the gateway adds to obtain JSON output from Anthropic models.</summary>
    public const string JsonToolName = "json_response";

    public static JsonObject ToAnthropic(ChatRequest request, DeploymentOptions deployment, bool stream)
    {
        var body = request.Body;
        if (request.N > 1) throw Errors.Errors.UnsupportedParameter("n", "Anthropic models return one choice per request; 'n' must be 1.");
        if (request.Logprobs) throw Errors.Errors.UnsupportedParameter("logprobs", "Anthropic models do not return log probabilities.");
        if (request.Temperature is > 1) throw Errors.Errors.InvalidRequest("Anthropic models accept a temperature between 0 and 1.", "temperature", "invalid_value");
        var jsonMode = request.ResponseFormat is "json_object" or "json_schema";
        if (jsonMode && request.HasTools)
            throw Errors.Errors.UnsupportedParameter("response_format", "With Anthropic models, 'response_format' JSON output cannot be combined with 'tools'.");

        var system = new JsonArray();
        var messages = new JsonArray();
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            switch (m.Role)
            {
                case "system" or "developer":
                    foreach (var text in TextParts(m.Node["content"]))
                        system.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                    break;
                case "user":
                    Append(messages, "user", UserContent(m.Node["content"], i));
                    break;
                case "assistant":
                    Append(messages, "assistant", AssistantContent(m.Node, i));
                    break;
                case "tool" or "function":
                    Append(messages, "user", [new JsonObject
                    {
                        ["type"] = "tool_result",
                        ["tool_use_id"] = (string?)m.Node["tool_call_id"] ?? (string?)m.Node["name"] ?? "",
                        ["content"] = MessageContent.TextOf(m.Node["content"]),
                    }]);
                    break;
            }
        }
        if (messages.Count == 0) throw Errors.Errors.InvalidRequest("Anthropic models need at least one user or assistant message besides system messages.", "messages");

        var result = new JsonObject
        {
            ["model"] = deployment.Model,
            ["max_tokens"] = request.MaxOutputTokens ?? deployment.DefaultMaxTokens,
            ["messages"] = messages,
        };
        if (system.Count > 0) result["system"] = system;
        if (request.Temperature is { } t) result["temperature"] = t;
        if (body["top_p"] is JsonValue topP) result["top_p"] = topP.DeepClone();
        if (request.Stop.Count > 0) result["stop_sequences"] = new JsonArray(request.Stop.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());
        if (request.User is { } user) result["metadata"] = new JsonObject { ["user_id"] = user };
        if (stream) result["stream"] = true;

        if (request.HasTools)
        {
            var tools = new JsonArray();
            foreach (var tool in (JsonArray)body["tools"]!)
            {
                if (tool?["function"] is not JsonObject fn) continue;
                var t2 = new JsonObject { ["name"] = (string?)fn["name"] };
                if (fn["description"] is JsonValue d) t2["description"] = d.DeepClone();
                t2["input_schema"] = fn["parameters"]?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
                tools.Add(t2);
            }
            result["tools"] = tools;
            var choice = ToolChoice(body["tool_choice"]);
            if (body["parallel_tool_calls"] is JsonValue p && p.GetValueKind() == JsonValueKind.False)
            {
                choice ??= new JsonObject { ["type"] = "auto" };
                if ((string?)choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
            }
            if (choice is not null) result["tool_choice"] = choice;
        }
        else if (jsonMode)
        {
            var schema = body["response_format"]?["json_schema"]?["schema"]?.DeepClone() as JsonObject
                ?? new JsonObject { ["type"] = "object" };
            result["tools"] = new JsonArray(new JsonObject
            {
                ["name"] = JsonToolName,
                ["description"] = "Respond with a JSON object" + (body["response_format"]?["json_schema"]?["description"] is JsonValue desc ? ": " + (string?)desc : "."),
                ["input_schema"] = schema,
            });
            result["tool_choice"] = new JsonObject { ["type"] = "tool", ["name"] = JsonToolName };
        }
        return result;
    }

    private static JsonObject? ToolChoice(JsonNode? choice) => choice switch
    {
        null => null,
        JsonValue v when (string?)v == "auto" => new JsonObject { ["type"] = "auto" },
        JsonValue v when (string?)v == "required" => new JsonObject { ["type"] = "any" },
        JsonValue v when (string?)v == "none" => new JsonObject { ["type"] = "none" },
        JsonObject o when o["function"]?["name"] is JsonValue name => new JsonObject { ["type"] = "tool", ["name"] = name.DeepClone() },
        _ => null,
    };

    private static IEnumerable<string> TextParts(JsonNode? content)
    {
        if (content is JsonValue v && v.TryGetValue<string>(out var s)) { if (s.Length > 0) yield return s; yield break; }
        if (content is not JsonArray parts) yield break;
        foreach (var part in parts)
            if (part?["text"] is JsonValue tv && tv.TryGetValue<string>(out var text)) yield return text;
    }

    private static JsonNode[] UserContent(JsonNode? content, int index)
    {
        if (content is JsonValue v && v.TryGetValue<string>(out var s)) return [new JsonObject { ["type"] = "text", ["text"] = s }];
        var blocks = new List<JsonNode>();
        if (content is not JsonArray parts) return [.. blocks];
        for (var p = 0; p < parts.Count; p++)
        {
            var part = (JsonObject)parts[p]!;
            switch ((string?)part["type"])
            {
                case "text":
                    blocks.Add(new JsonObject { ["type"] = "text", ["text"] = (string?)part["text"] });
                    break;
                case "image_url":
                    blocks.Add(Image((string)part["image_url"]!["url"]!, $"messages[{index.ToString(CultureInfo.InvariantCulture)}].content[{p.ToString(CultureInfo.InvariantCulture)}].image_url.url"));
                    break;
                default:
                    throw Errors.Errors.UnsupportedParameter($"messages[{index.ToString(CultureInfo.InvariantCulture)}].content[{p.ToString(CultureInfo.InvariantCulture)}].type",
                        $"Content parts of type '{(string?)part["type"]}' are not supported by Anthropic models through this gateway.");
            }
        }
        return [.. blocks];
    }

    private static JsonObject Image(string url, string param)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 5 ? url[5..comma] : "";
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw Errors.Errors.InvalidRequest("Image data URLs must be base64 encoded (data:image/png;base64,...).", param, "invalid_value");
            return new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = header[..^7], ["data"] = url[(comma + 1)..] },
            };
        }
        return new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "url", ["url"] = url } };
    }

    private static JsonNode[] AssistantContent(JsonObject message, int index)
    {
        var blocks = new List<JsonNode>();
        foreach (var text in TextParts(message["content"]))
            blocks.Add(new JsonObject { ["type"] = "text", ["text"] = text });
        if (message["tool_calls"] is JsonArray calls)
        {
            for (var c = 0; c < calls.Count; c++)
            {
                var call = (JsonObject)calls[c]!;
                var arguments = (string?)call["function"]?["arguments"] ?? "{}";
                JsonNode? input;
                try
                {
                    input = JsonNode.Parse(arguments.Length == 0 ? "{}" : arguments);
                }
                catch (JsonException)
                {
                    throw Errors.Errors.InvalidRequest("Tool call arguments must be a JSON object to send them to an Anthropic model.",
                        $"messages[{index.ToString(CultureInfo.InvariantCulture)}].tool_calls[{c.ToString(CultureInfo.InvariantCulture)}].function.arguments", "invalid_value");
                }
                blocks.Add(new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = (string?)call["id"],
                    ["name"] = (string?)call["function"]?["name"],
                    ["input"] = input as JsonObject ?? new JsonObject(),
                });
            }
        }
        return [.. blocks];
    }

    /// <summary>Anthropic requires alternating roles: consecutive messages of one role are merged.</summary>
    private static void Append(JsonArray messages, string role, JsonNode[] blocks)
    {
        if (blocks.Length == 0) return;
        if (messages.Count > 0 && (string?)messages[^1]!["role"] == role)
        {
            var content = (JsonArray)messages[^1]!["content"]!;
            // tool_result blocks must come first in a user message.
            if (role == "user" && blocks.Any(b => (string?)b["type"] == "tool_result"))
            {
                var existing = content.Select(n => n!.DeepClone()).ToList();
                content.Clear();
                // earlier tool results first, in their order, then the new ones, then everything else
                foreach (var e in existing.Where(e => (string?)e["type"] == "tool_result")) content.Add(e);
                foreach (var b in blocks.Where(b => (string?)b["type"] == "tool_result")) content.Add(b);
                foreach (var e in existing.Where(e => (string?)e["type"] != "tool_result")) content.Add(e);
                foreach (var b in blocks.Where(b => (string?)b["type"] != "tool_result")) content.Add(b);
                return;
            }
            foreach (var b in blocks) content.Add(b);
            return;
        }
        messages.Add(new JsonObject { ["role"] = role, ["content"] = new JsonArray(blocks) });
    }

    /// <summary>Maps Anthropic's stop reason to OpenAI's finish reason.</summary>
    public static string FinishReason(string? stopReason, bool jsonMode) => stopReason switch
    {
        "end_turn" or "stop_sequence" or "pause_turn" => "stop",
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => jsonMode ? "stop" : "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    /// <summary>Reads Anthropic usage: its input_tokens exclude cache reads and writes, OpenAI's prompt_tokens include them.</summary>
    public static TokenUsage Usage(JsonNode? usage, int? outputOverride = null)
    {
        var input = TokenUsage.Int(usage?["input_tokens"]);
        var cacheRead = TokenUsage.Int(usage?["cache_read_input_tokens"]);
        var cacheWrite = TokenUsage.Int(usage?["cache_creation_input_tokens"]);
        var cacheWrite1h = Math.Min(cacheWrite, TokenUsage.Int(usage?["cache_creation"]?["ephemeral_1h_input_tokens"]));
        var output = outputOverride ?? TokenUsage.Int(usage?["output_tokens"]);
        return new TokenUsage(input + cacheRead + cacheWrite, output, cacheRead, cacheWrite, CacheWrite1hTokens: cacheWrite1h);
    }

    /// <summary>Turns an Anthropic message into an OpenAI chat.completion.</summary>
    public static ProviderCompletion FromAnthropic(JsonObject message, ChatRequest request, long created)
    {
        var jsonMode = request.ResponseFormat != "text" && !request.HasTools;
        var text = new System.Text.StringBuilder();
        var toolCalls = new JsonArray();
        if (message["content"] is JsonArray content)
        {
            foreach (var block in content)
            {
                switch ((string?)block?["type"])
                {
                    case "text":
                        text.Append((string?)block!["text"]);
                        break;
                    case "tool_use" when jsonMode && (string?)block!["name"] == JsonToolName:
                        text.Append(block["input"]?.ToJsonString() ?? "{}");
                        break;
                    case "tool_use":
                        toolCalls.Add(new JsonObject
                        {
                            ["id"] = (string?)block!["id"],
                            ["type"] = "function",
                            ["function"] = new JsonObject { ["name"] = (string?)block["name"], ["arguments"] = block["input"]?.ToJsonString() ?? "{}" },
                        });
                        break;
                }
            }
        }
        var assistant = new JsonObject { ["role"] = "assistant", ["content"] = toolCalls.Count > 0 && text.Length == 0 ? null : text.ToString() };
        if (toolCalls.Count > 0) assistant["tool_calls"] = toolCalls;
        assistant["refusal"] = null;
        var usage = Usage(message["usage"]);
        var body = new JsonObject
        {
            ["id"] = (string?)message["id"] ?? "msg",
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = (string?)message["model"] ?? request.Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = assistant,
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason((string?)message["stop_reason"], jsonMode),
            }),
            ["usage"] = usage.ToJson(),
        };
        return new ProviderCompletion(body, usage);
    }
}
