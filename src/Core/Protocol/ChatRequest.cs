using System.Text.Json.Nodes;

namespace Gateway.Core.Protocol;

/// <summary>
/// A validated OpenAI chat completion request. <see cref="Body"/> keeps every field the client sent,
/// including ones the gateway does not know, so OpenAI-compatible upstreams receive them unchanged.
/// </summary>
public sealed class ChatRequest
{
    internal ChatRequest(JsonObject body, string model, IReadOnlyList<ChatMessage> messages)
    {
        Body = body;
        Model = model;
        Messages = messages;
    }

    public JsonObject Body { get; }
    public string Model { get; }
    public IReadOnlyList<ChatMessage> Messages { get; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public int N { get; init; } = 1;
    /// <summary><c>max_completion_tokens</c>, else <c>max_tokens</c>.</summary>
    public int? MaxOutputTokens { get; init; }
    public double? Temperature { get; init; }
    public string? User { get; init; }
    public bool HasTools { get; init; }
    /// <summary>"text", "json_object" or "json_schema".</summary>
    public string ResponseFormat { get; init; } = "text";
    public bool Logprobs { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>This request with another body and messages (a stream's continuation), every other setting kept; <paramref name="maxOutputTokens"/> replaces the output cap when given.</summary>
    internal ChatRequest Continued(JsonObject body, IReadOnlyList<ChatMessage> messages, int? maxOutputTokens) => new(body, Model, messages)
    {
        Stream = Stream, IncludeUsage = IncludeUsage, N = N, MaxOutputTokens = maxOutputTokens ?? MaxOutputTokens, Temperature = Temperature, User = User,
        HasTools = HasTools, ResponseFormat = ResponseFormat, Logprobs = Logprobs, Stop = Stop,
    };

    /// <summary>
    /// How many leading messages form the request's shared prefix: those before the last user turn (system and developer
    /// messages, earlier turns), which a conversation or an application sends again and again. Without a user message,
    /// every message but the last.
    /// </summary>
    public int PrefixMessageCount
    {
        get
        {
            for (var i = Messages.Count - 1; i >= 0; i--)
            {
                if (Messages[i].Role == "user") return i;
            }

            return Math.Max(0, Messages.Count - 1);
        }
    }

    /// <summary>Tool definitions offered to the model (<c>tools</c>, and the legacy <c>functions</c>); 0 when none.</summary>
    public int ToolsOffered => ((Body["tools"] as JsonArray)?.Count ?? 0) + ((Body["functions"] as JsonArray)?.Count ?? 0);

    /// <summary>A deep copy of the body for a provider to rewrite (the original stays as the client sent it).</summary>
    public JsonObject CloneBody() => (JsonObject)Body.DeepClone();
}

/// <summary>A message of the conversation, as far as the gateway needs to see it.</summary>
/// <param name="Role">system, developer, user, assistant or tool.</param>
/// <param name="Node">The message object as sent.</param>
public sealed record ChatMessage(string Role, JsonObject Node)
{
    /// <summary>The text of the message: string content, or its text parts joined.</summary>
    public string Text => MessageContent.TextOf(Node["content"]);
}

/// <summary>Helpers for OpenAI message content (a string, or an array of parts).</summary>
public static class MessageContent
{
    public static string TextOf(JsonNode? content)
    {
        if (content is null) return string.Empty;
        if (content is JsonValue value && value.TryGetValue<string>(out var s)) return s;
        if (content is JsonArray parts)
        {
            var texts = new List<string>(parts.Count);
            foreach (var part in parts)
            {
                if (part is JsonObject o && (string?)o["type"] == "text" && o["text"] is JsonValue t && t.TryGetValue<string>(out var text))
                    texts.Add(text);
            }
            return string.Join("\n", texts);
        }
        return string.Empty;
    }
}
