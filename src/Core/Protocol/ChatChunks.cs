using System.Text.Json.Nodes;

namespace Gateway.Core.Protocol;

/// <summary>The <c>chat.completion.chunk</c>s the gateway writes itself, carrying the identity of the completion they belong to.</summary>
public static class ChatChunks
{
    private static readonly string[] Identity = ["id", "object", "created", "model", "system_fingerprint"];

    /// <summary>A chunk of the completion <paramref name="source"/> names (its <c>id</c>, <c>created</c> and <c>model</c>), with <paramref name="choices"/>.</summary>
    public static JsonObject Like(JsonNode? source, JsonArray choices) => new()
    {
        ["id"] = source?["id"]?.DeepClone(), ["object"] = "chat.completion.chunk", ["created"] = source?["created"]?.DeepClone(),
        ["model"] = source?["model"]?.DeepClone(), ["choices"] = choices,
    };

    /// <summary>
    /// A chunk's identity fields alone (<c>id</c>, <c>object</c>, <c>created</c>, <c>model</c>, <c>system_fingerprint</c>) as plain
    /// values: what a stream keeps to name the chunks it writes itself, instead of holding the whole chunk (its choices and
    /// the parsed document behind them) for the stream's life.
    /// </summary>
    public static JsonObject IdentityOf(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var identity = new JsonObject();
        foreach (var field in Identity)
        {
            if (chunk[field] is not { } value) continue;
            identity[field] = value switch
            {
                JsonValue v when v.TryGetValue<string>(out var text) => JsonValue.Create(text),
                JsonValue v when v.TryGetValue<long>(out var number) => JsonValue.Create(number),
                _ => value.DeepClone(),
            };
        }

        return identity;
    }

    /// <summary>Gives <paramref name="chunk"/> the identity fields (<c>id</c>, <c>object</c>, <c>created</c>, <c>model</c>, <c>system_fingerprint</c>) <paramref name="source"/> has.</summary>
    public static void CopyIdentity(JsonObject source, JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(chunk);
        foreach (var field in Identity)
        {
            if (source[field] is { } value) chunk[field] = value.DeepClone();
        }
    }
}
