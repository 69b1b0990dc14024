using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;

namespace Gateway.Core.Protocol;

/// <summary>
/// Parses and validates an OpenAI chat completion request body. Every rejection is a 400 that names
/// the offending parameter the way OpenAI does (<c>messages[2].role</c>).
/// </summary>
public static class ChatRequestParser
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool", "function"];
    private static readonly HashSet<string> PartTypes = ["text", "image_url", "input_audio", "file", "refusal"];
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false, AllowDuplicateProperties = false };

    public static ChatRequest Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.IsEmpty) throw Errors.Errors.InvalidRequest("The request body is empty; expected a JSON object.", null, "invalid_json");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8Json, NodeOptions, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw Errors.Errors.InvalidJson(ex.Message);
        }

        CheckStrings(utf8Json);
        if (root is not JsonObject body) throw Errors.Errors.InvalidRequest("The request body must be a JSON object.", null, "invalid_json");
        return Validate(body);
    }

    /// <summary>The longest <c>model</c> and <c>user</c> accepted (OpenAI's limit for <c>user</c>).</summary>
    public const int MaxIdentifierLength = 256;
    /// <summary>Request limits, as OpenAI's API states them: messages, tools, metadata pairs and their lengths, any string.</summary>
    public const int MaxMessages = 2048;
    public const int MaxTools = 128;
    public const int MaxMetadataPairs = 16;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 512;
    public const int MaxStringLength = 10_485_760;

    public static ChatRequest Validate(JsonObject body)
    {
        var model = RequiredString(body, "model");
        if (model.Length == 0) throw Errors.Errors.InvalidRequest("'model' must not be empty.", "model");
        if (model.Length > MaxIdentifierLength)
            throw Errors.Errors.InvalidRequest($"'model' is too long: at most {MaxIdentifierLength} characters.", "model", "invalid_value");

        if (!body.TryGetPropertyValue("messages", out var messagesNode) || messagesNode is null)
            throw Errors.Errors.InvalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        if (messagesNode is not JsonArray messagesArray)
            throw Errors.Errors.InvalidRequest("'messages' must be an array.", "messages");
        if (messagesArray.Count == 0)
            throw Errors.Errors.InvalidRequest("'messages' must contain at least one message.", "messages");
        if (messagesArray.Count > MaxMessages)
            throw Errors.Errors.InvalidRequest($"Invalid 'messages': array too long. Expected an array with maximum length {MaxMessages}, but got an array with length {messagesArray.Count} instead.", "messages", "array_above_max_length");

        var messages = new List<ChatMessage>(messagesArray.Count);
        for (var i = 0; i < messagesArray.Count; i++) messages.Add(ValidateMessage(messagesArray[i], i));

        var stream = OptionalBool(body, "stream") ?? false;
        var includeUsage = false;
        if (body["stream_options"] is { } so)
        {
            if (so is not JsonObject streamOptions) throw Errors.Errors.InvalidRequest("'stream_options' must be an object.", "stream_options");
            if (!stream) throw Errors.Errors.InvalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
            includeUsage = OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        var temperature = OptionalNumber(body, "temperature", 0, 2);
        OptionalNumber(body, "top_p", 0, 1);
        OptionalNumber(body, "presence_penalty", -2, 2);
        OptionalNumber(body, "frequency_penalty", -2, 2);
        var n = OptionalInt(body, "n", 1, 128) ?? 1;
        var maxTokens = OptionalInt(body, "max_tokens", 1, int.MaxValue);
        var maxCompletionTokens = OptionalInt(body, "max_completion_tokens", 1, int.MaxValue);
        OptionalInteger(body, "seed");
        var logprobs = OptionalBool(body, "logprobs") ?? false;
        var topLogprobs = OptionalInt(body, "top_logprobs", 0, 20);
        if (topLogprobs is not null && !logprobs)
            throw Errors.Errors.InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
        OptionalBool(body, "parallel_tool_calls");
        var user = OptionalString(body, "user");
        // as OpenAI: the end-user id is a short identifier (it also names a budget scope and a report dimension)
        if (user?.Length > MaxIdentifierLength)
            throw Errors.Errors.InvalidRequest($"Invalid 'user': string too long. Expected a string with maximum length {MaxIdentifierLength}, but got a string with length {user.Length} instead.", "user", "string_above_max_length");
        if (body["logit_bias"] is { } lb && lb is not JsonObject)
            throw Errors.Errors.InvalidRequest("'logit_bias' must be an object mapping token ids to bias values.", "logit_bias");
        if (body["metadata"] is { } md) ValidateMetadata(md);
        if (body["service_tier"] is { } tierNode && (tierNode is not JsonValue tierValue || !tierValue.TryGetValue<string>(out var tier) || tier is not ("auto" or "default" or "flex" or "priority" or "scale")))
            throw Errors.Errors.InvalidRequest("Invalid value for 'service_tier': supported values are 'auto', 'default', 'flex', 'priority' and 'scale'.", "service_tier", "invalid_value");

        var stop = ValidateStop(body);
        var hasTools = ValidateTools(body);
        ValidateToolChoice(body, hasTools);
        var responseFormat = ValidateResponseFormat(body);

        return new ChatRequest(body, model, messages)
        {
            Stream = stream,
            IncludeUsage = includeUsage,
            N = n,
            MaxOutputTokens = maxCompletionTokens ?? maxTokens,
            Temperature = temperature,
            User = user,
            HasTools = hasTools,
            ResponseFormat = responseFormat,
            Logprobs = logprobs,
            Stop = stop,
        };
    }

    /// <summary>
    /// What the JSON parser lets through but a later read would trip on: invalid UTF-8 or a lone surrogate escape
    /// inside a string (refused as invalid JSON), and a number outside the range of a double, such as <c>1e400</c>,
    /// anywhere in the body (refused as <c>invalid_value</c> naming its field: no stage — the cache key, a forwarded
    /// body, a price — can meet an infinity).
    /// </summary>
    private static void CheckStrings(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
        // where the reader is: one frame per open container, its current property name or element index
        var path = new List<(bool Array, string? Name, int Index)>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    path.Add((reader.TokenType == JsonTokenType.StartArray, null, 0));
                    continue;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    path.RemoveAt(path.Count - 1);
                    NextElement(path);
                    continue;
                case JsonTokenType.Number:
                    if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                    {
                        var at = PathOf(path);
                        throw Errors.Errors.InvalidRequest($"Invalid value for '{at}': numbers must be finite and within the range of a double.", at, "invalid_value");
                    }

                    NextElement(path);
                    continue;
                case JsonTokenType.String or JsonTokenType.PropertyName:
                    break;
                default:
                    NextElement(path);
                    continue;
            }

            string? text;
            if (!reader.ValueIsEscaped)
            {
                if (!System.Text.Unicode.Utf8.IsValid(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan))
                    throw Errors.Errors.InvalidJson("A string is not valid UTF-8.");
                text = reader.TokenType == JsonTokenType.PropertyName ? reader.GetString() : null;
            }
            else
            {
                try
                {
                    text = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw Errors.Errors.InvalidJson("A string holds invalid UTF-8 or an unpaired surrogate escape.");
                }
            }

            // any string: at most MaxStringLength characters (its UTF-8 length bounds its UTF-16 length, so most never count)
            var bytes = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
            if (bytes > MaxStringLength && (text ?? reader.GetString()!).Length > MaxStringLength)
            {
                var at = PathOf(path);
                throw Errors.Errors.InvalidRequest($"Invalid '{at}': string too long. Expected a string with maximum length {MaxStringLength}.", at, "string_above_max_length");
            }

            if (reader.TokenType == JsonTokenType.PropertyName) path[^1] = path[^1] with { Name = text };
            else NextElement(path);
        }
    }

    /// <summary>After a value inside an array, the next index.</summary>
    private static void NextElement(List<(bool Array, string? Name, int Index)> path)
    {
        if (path.Count > 0 && path[^1] is { Array: true } top) path[^1] = top with { Index = top.Index + 1 };
    }

    /// <summary>The current value's place as OpenAI names parameters: <c>messages[2].content</c>, <c>metadata.x</c>.</summary>
    private static string PathOf(List<(bool Array, string? Name, int Index)> path)
    {
        var text = new System.Text.StringBuilder();
        foreach (var frame in path)
        {
            if (frame.Array)
            {
                text.Append('[').Append(frame.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else if (frame.Name is { } name)
            {
                if (text.Length > 0) text.Append('.');
                text.Append(name.Length > 64 ? name[..64] : name);
            }
        }

        return text.Length == 0 ? "body" : text.ToString();
    }

    private static ChatMessage ValidateMessage(JsonNode? node, int index)
    {
        var path = $"messages[{index.ToString(CultureInfo.InvariantCulture)}]";
        if (node is not JsonObject message) throw Errors.Errors.InvalidRequest($"'{path}' must be an object.", path);
        if (message["role"] is not JsonValue roleValue || !roleValue.TryGetValue<string>(out var role))
            throw Errors.Errors.InvalidRequest($"Missing required parameter: '{path}.role'.", $"{path}.role", "missing_required_parameter");
        if (!Roles.Contains(role))
            throw Errors.Errors.InvalidRequest($"Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.", $"{path}.role", "invalid_value");

        var hasContent = message.TryGetPropertyValue("content", out var content);
        var hasToolCalls = message["tool_calls"] is JsonArray { Count: > 0 };
        switch (content)
        {
            case null when role == "assistant" && (hasToolCalls || message["function_call"] is not null || message["audio"] is not null):
                break;
            case null:
                throw Errors.Errors.InvalidRequest(hasContent
                    ? $"Invalid value for '{path}.content': expected a string or an array of content parts, got null."
                    : $"Missing required parameter: '{path}.content'.", $"{path}.content", hasContent ? "invalid_type" : "missing_required_parameter");
            case JsonValue v when v.TryGetValue<string>(out _):
                break;
            case JsonArray parts:
                for (var p = 0; p < parts.Count; p++)
                {
                    var partPath = $"{path}.content[{p.ToString(CultureInfo.InvariantCulture)}]";
                    if (parts[p] is not JsonObject part || part["type"] is not JsonValue tv || !tv.TryGetValue<string>(out var type))
                        throw Errors.Errors.InvalidRequest($"'{partPath}' must be an object with a 'type'.", $"{partPath}.type");
                    if (!PartTypes.Contains(type))
                        throw Errors.Errors.InvalidRequest($"Invalid value: '{type}'. Supported content part types are: 'text', 'image_url', 'input_audio', 'file' and 'refusal'.", $"{partPath}.type", "invalid_value");
                    if (type == "text" && (part["text"] is not JsonValue tx || !tx.TryGetValue<string>(out _)))
                        throw Errors.Errors.InvalidRequest($"Missing required parameter: '{partPath}.text'.", $"{partPath}.text", "missing_required_parameter");
                    if (type == "image_url" && (part["image_url"] is not JsonObject img || img["url"] is not JsonValue u || !u.TryGetValue<string>(out _)))
                        throw Errors.Errors.InvalidRequest($"Missing required parameter: '{partPath}.image_url.url'.", $"{partPath}.image_url.url", "missing_required_parameter");
                }
                break;
            default:
                throw Errors.Errors.InvalidRequest($"Invalid type for '{path}.content': expected a string or an array of content parts.", $"{path}.content", "invalid_type");
        }

        if (role == "tool" && (message["tool_call_id"] is not JsonValue id || !id.TryGetValue<string>(out _)))
            throw Errors.Errors.InvalidRequest($"Missing required parameter: '{path}.tool_call_id'.", $"{path}.tool_call_id", "missing_required_parameter");

        if (message["tool_calls"] is { } toolCallsNode)
        {
            if (role != "assistant") throw Errors.Errors.InvalidRequest($"'{path}.tool_calls' is only allowed on assistant messages.", $"{path}.tool_calls");
            if (toolCallsNode is not JsonArray toolCalls) throw Errors.Errors.InvalidRequest($"'{path}.tool_calls' must be an array.", $"{path}.tool_calls");
            for (var t = 0; t < toolCalls.Count; t++)
            {
                var callPath = $"{path}.tool_calls[{t.ToString(CultureInfo.InvariantCulture)}]";
                if (toolCalls[t] is not JsonObject call) throw Errors.Errors.InvalidRequest($"'{callPath}' must be an object.", callPath);
                RequiredString(call, "id", $"{callPath}.id");
                if (call["function"] is not JsonObject fn) throw Errors.Errors.InvalidRequest($"Missing required parameter: '{callPath}.function'.", $"{callPath}.function", "missing_required_parameter");
                RequiredString(fn, "name", $"{callPath}.function.name");
                RequiredString(fn, "arguments", $"{callPath}.function.arguments");
            }
        }
        if (message["name"] is { } name && (name is not JsonValue nv || !nv.TryGetValue<string>(out _)))
            throw Errors.Errors.InvalidRequest($"'{path}.name' must be a string.", $"{path}.name", "invalid_type");
        return new ChatMessage(role, message);
    }

    private static List<string> ValidateStop(JsonObject body)
    {
        switch (body["stop"])
        {
            case null: return [];
            case JsonValue v when v.TryGetValue<string>(out var s): return [s];
            case JsonArray a:
                if (a.Count > 4) throw Errors.Errors.InvalidRequest("'stop' accepts at most 4 sequences.", "stop");
                var list = new List<string>(a.Count);
                foreach (var item in a)
                {
                    if (item is not JsonValue iv || !iv.TryGetValue<string>(out var seq)) throw Errors.Errors.InvalidRequest("'stop' must be a string or an array of strings.", "stop", "invalid_type");
                    list.Add(seq);
                }
                return list;
            default: throw Errors.Errors.InvalidRequest("'stop' must be a string or an array of strings.", "stop", "invalid_type");
        }
    }

    /// <summary>At most 16 pairs of string keys (up to 64 characters) and string values (up to 512), as OpenAI.</summary>
    private static void ValidateMetadata(JsonNode metadata)
    {
        if (metadata is not JsonObject pairs) throw Errors.Errors.InvalidRequest("'metadata' must be an object.", "metadata");
        if (pairs.Count > MaxMetadataPairs)
            throw Errors.Errors.InvalidRequest($"Invalid 'metadata': too many properties. Expected an object with at most {MaxMetadataPairs} properties, but got {pairs.Count}.", "metadata", "object_above_max_properties");
        foreach (var (key, value) in pairs)
        {
            if (key.Length > MaxMetadataKeyLength)
                throw Errors.Errors.InvalidRequest($"Invalid 'metadata': a key is too long. Expected at most {MaxMetadataKeyLength} characters, but got {key.Length}.", "metadata", "string_above_max_length");
            var path = "metadata." + key;
            if (value is not JsonValue v || !v.TryGetValue<string>(out var text))
                throw Errors.Errors.InvalidRequest($"Invalid type for '{path}': expected a string.", path, "invalid_type");
            if (text.Length > MaxMetadataValueLength)
                throw Errors.Errors.InvalidRequest($"Invalid '{path}': string too long. Expected a string with maximum length {MaxMetadataValueLength}, but got a string with length {text.Length} instead.", path, "string_above_max_length");
        }
    }

    private static bool ValidateTools(JsonObject body)
    {
        if (body["tools"] is not { } toolsNode) return false;
        if (toolsNode is not JsonArray tools) throw Errors.Errors.InvalidRequest("'tools' must be an array.", "tools", "invalid_type");
        if (tools.Count > MaxTools)
            throw Errors.Errors.InvalidRequest($"Invalid 'tools': array too long. Expected an array with maximum length {MaxTools}, but got an array with length {tools.Count} instead.", "tools", "array_above_max_length");
        for (var i = 0; i < tools.Count; i++)
        {
            var path = $"tools[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (tools[i] is not JsonObject tool) throw Errors.Errors.InvalidRequest($"'{path}' must be an object.", path);
            string type;
            if (tool["type"] is null) type = "function";
            else if (tool["type"] is not JsonValue tv || !tv.TryGetValue(out type!))
                throw Errors.Errors.InvalidRequest($"Invalid type for '{path}.type': expected a string.", $"{path}.type", "invalid_type");
            if (type != "function" && type != "custom") throw Errors.Errors.InvalidRequest($"Invalid value: '{type}'. Supported values are: 'function' and 'custom'.", $"{path}.type", "invalid_value");
            if (type == "function")
            {
                if (tool["function"] is not JsonObject fn) throw Errors.Errors.InvalidRequest($"Missing required parameter: '{path}.function'.", $"{path}.function", "missing_required_parameter");
                var name = RequiredString(fn, "name", $"{path}.function.name");
                if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                    throw Errors.Errors.InvalidRequest($"Invalid '{path}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.", $"{path}.function.name", "invalid_value");
                if (fn["parameters"] is { } p && p is not JsonObject) throw Errors.Errors.InvalidRequest($"'{path}.function.parameters' must be a JSON schema object.", $"{path}.function.parameters", "invalid_type");
            }
        }
        return tools.Count > 0;
    }

    private static void ValidateToolChoice(JsonObject body, bool hasTools)
    {
        switch (body["tool_choice"])
        {
            case null: return;
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (s is not ("none" or "auto" or "required")) throw Errors.Errors.InvalidRequest($"Invalid value: '{s}'. Supported values are: 'none', 'auto' and 'required'.", "tool_choice", "invalid_value");
                if (s == "required" && !hasTools) throw Errors.Errors.InvalidRequest("'tool_choice' is 'required' but no 'tools' were given.", "tool_choice");
                return;
            case JsonObject o:
                if (!hasTools) throw Errors.Errors.InvalidRequest("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
                if (o["function"] is JsonObject f) RequiredString(f, "name", "tool_choice.function.name");
                return;
            default: throw Errors.Errors.InvalidRequest("'tool_choice' must be a string or an object.", "tool_choice", "invalid_type");
        }
    }

    private static string ValidateResponseFormat(JsonObject body)
    {
        if (body["response_format"] is not { } node) return "text";
        if (node is not JsonObject format) throw Errors.Errors.InvalidRequest("'response_format' must be an object.", "response_format", "invalid_type");
        var type = RequiredString(format, "type", "response_format.type");
        switch (type)
        {
            case "text" or "json_object": return type;
            case "json_schema":
                if (format["json_schema"] is not JsonObject schema) throw Errors.Errors.InvalidRequest("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema", "missing_required_parameter");
                RequiredString(schema, "name", "response_format.json_schema.name");
                if (schema["schema"] is { } s && s is not JsonObject) throw Errors.Errors.InvalidRequest("'response_format.json_schema.schema' must be an object.", "response_format.json_schema.schema", "invalid_type");
                return type;
            default: throw Errors.Errors.InvalidRequest($"Invalid value: '{type}'. Supported values are: 'text', 'json_object' and 'json_schema'.", "response_format.type", "invalid_value");
        }
    }

    private static string RequiredString(JsonObject o, string name, string? param = null)
    {
        param ??= name;
        if (!o.TryGetPropertyValue(name, out var node) || node is null)
            throw Errors.Errors.InvalidRequest($"Missing required parameter: '{param}'.", param, "missing_required_parameter");
        if (node is not JsonValue v || !v.TryGetValue<string>(out var s))
            throw Errors.Errors.InvalidRequest($"Invalid type for '{param}': expected a string.", param, "invalid_type");
        return s;
    }

    private static string? OptionalString(JsonObject o, string name)
    {
        if (o[name] is not { } node) return null;
        if (node is not JsonValue v || !v.TryGetValue<string>(out var s))
            throw Errors.Errors.InvalidRequest($"Invalid type for '{name}': expected a string.", name, "invalid_type");
        return s;
    }

    private static bool? OptionalBool(JsonObject o, string name, string? param = null)
    {
        if (o[name] is not { } node) return null;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        throw Errors.Errors.InvalidRequest($"Invalid type for '{param ?? name}': expected a boolean.", param ?? name, "invalid_type");
    }

    private static double? OptionalNumber(JsonObject o, string name, double min, double max)
    {
        if (o[name] is not { } node) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
            throw Errors.Errors.InvalidRequest($"Invalid type for '{name}': expected a number.", name, "invalid_type");
        var d = v.GetValue<double>();
        if (d < min || d > max)
            throw Errors.Errors.InvalidRequest($"Invalid '{name}': {d.ToString(CultureInfo.InvariantCulture)} is outside the allowed range {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}.", name, "invalid_value");
        return d;
    }

    private static long? OptionalInteger(JsonObject o, string name)
    {
        if (o[name] is not { } node) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l)) return l;
        if (node is JsonValue dv && dv.GetValueKind() == JsonValueKind.Number && dv.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e18) return (long)d;
        throw Errors.Errors.InvalidRequest($"Invalid type for '{name}': expected an integer.", name, "invalid_type");
    }

    private static int? OptionalInt(JsonObject o, string name, int min, int max)
    {
        var value = OptionalInteger(o, name);
        if (value is null) return null;
        if (value < min || value > max)
            throw Errors.Errors.InvalidRequest($"Invalid '{name}': {value.Value.ToString(CultureInfo.InvariantCulture)} is outside the allowed range {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}.", name, "invalid_value");
        return (int)value.Value;
    }
}
