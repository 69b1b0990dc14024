using System.Text.Json;
using Gateway.Core.Protocol;

namespace Gateway.Core.Caching;

/// <summary>
/// How a <see cref="CachedCompletion"/> is stored by a shared backend: compact UTF-8 JSON with a version,
/// <c>{"v":1,"body":{…},"usage":{"prompt":…,"completion":…,"cached":…,"cacheWrite":…,"cacheWrite1h":…,"reasoning":…},
/// "deployment":"…","createdAt":"…","requestId":"…"}</c> (<c>requestId</c>, the request that created it, is optional:
/// entries written before it was kept have none). The body is the chat.completion itself (raw JSON, not a string).
/// <see cref="Decode"/> returns null — never throws — for anything it does not understand: an unknown version,
/// a truncated or foreign value; a shared cache treats that as a miss.
/// </summary>
public static class CachedCompletionCodec
{
    public const int Version = 1;
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 256 };

    public static byte[] Encode(CachedCompletion value)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var buffer = new MemoryStream(value.Body.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = 256 }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WritePropertyName("body");
            writer.WriteRawValue(value.Body);
            writer.WriteStartObject("usage");
            writer.WriteNumber("prompt", value.Usage.PromptTokens);
            writer.WriteNumber("completion", value.Usage.CompletionTokens);
            writer.WriteNumber("cached", value.Usage.CachedPromptTokens);
            writer.WriteNumber("cacheWrite", value.Usage.CacheWriteTokens);
            writer.WriteNumber("cacheWrite1h", value.Usage.CacheWrite1hTokens);
            writer.WriteNumber("reasoning", value.Usage.ReasoningTokens);
            writer.WriteEndObject();
            writer.WriteString("deployment", value.Deployment);
            writer.WriteString("createdAt", value.CreatedAt);
            if (value.RequestId is not null) writer.WriteString("requestId", value.RequestId);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The stored entry, or null when the bytes are not a version this gateway reads.</summary>
    public static CachedCompletion? Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes, ReadOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("v", out var version) || version.ValueKind != JsonValueKind.Number
                || !version.TryGetInt32(out var v) || v != Version) return null;
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("deployment", out var deployment) || deployment.ValueKind != JsonValueKind.String) return null;
            if (!root.TryGetProperty("createdAt", out var created) || created.ValueKind != JsonValueKind.String
                || !created.TryGetDateTimeOffset(out var createdAt)) return null;
            if (Count(usage, "prompt") is not { } prompt || Count(usage, "completion") is not { } completion) return null;
            if (Count(usage, "cached", 0) is not { } cached || Count(usage, "cacheWrite", 0) is not { } cacheWrite
                || Count(usage, "cacheWrite1h", 0) is not { } cacheWrite1h || Count(usage, "reasoning", 0) is not { } reasoning) return null;
            string? requestId = null;
            if (root.TryGetProperty("requestId", out var request))
            {
                if (request.ValueKind != JsonValueKind.String) return null;
                requestId = request.GetString();
            }

            return new CachedCompletion(body.GetRawText(), new TokenUsage(prompt, completion, cached, cacheWrite, reasoning, cacheWrite1h),
                deployment.GetString()!, createdAt, requestId);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A non-negative token count; <paramref name="absent"/> when the field is missing, null when it is malformed.</summary>
    private static int? Count(JsonElement usage, string name, int? absent = null)
    {
        if (!usage.TryGetProperty(name, out var value)) return absent;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0 ? n : null;
    }
}
