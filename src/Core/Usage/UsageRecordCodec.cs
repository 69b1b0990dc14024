using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Usage;

/// <summary>The queue message format of a usage record (JSON, camelCase, decimals exact).</summary>
public static class UsageRecordCodec
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public static string Encode(UsageRecord record) => JsonSerializer.Serialize(record, Options);

    public static byte[] EncodeUtf8(UsageRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Options);

    /// <summary>Decodes and checks a message; throws <see cref="UsageDecodeException"/> for anything that is not a
    /// complete record (such a message can never succeed and goes to the poison queue).</summary>
    public static UsageRecord Decode(string message)
    {
        UsageRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<UsageRecord>(message, Options);
        }
        catch (JsonException ex)
        {
            throw new UsageDecodeException($"not a usage record: {ex.Message}");
        }

        if (record is null) throw new UsageDecodeException("not a usage record: null");
        if (!IsSafeKey(record.RequestId)) throw new UsageDecodeException("requestId is missing or not usable as a row key");
        if (string.IsNullOrWhiteSpace(record.KeyId)) throw new UsageDecodeException("keyId is missing");
        if (record.At == default) throw new UsageDecodeException("at is missing");
        if (record.PromptTokens < 0 || record.CompletionTokens < 0 || record.CachedTokens < 0 || record.CacheWriteTokens < 0 || record.ReasoningTokens < 0 || record.CostUsd < 0)
        {
            throw new UsageDecodeException("token counts and cost must not be negative");
        }

        return record;
    }

    /// <summary>Table Storage row keys may not contain / \ # ? or control characters, and are at most 1 KiB.</summary>
    public static bool IsSafeKey(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 256 && value.All(c => c is not ('/' or '\\' or '#' or '?') && !char.IsControl(c));

    public static string ToBase64(UsageRecord record) => Convert.ToBase64String(EncodeUtf8(record));

    public static string FromBase64(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            throw new UsageDecodeException("message is not base64");
        }
    }
}

public sealed class UsageDecodeException(string message) : Exception(message);
