using System.IO.Compression;
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

    /// <summary>Prefix of a batch message: <c>U2:</c> + base64(gzip(JSON array of records)).</summary>
    public const string BatchPrefix = "U2:";

    /// <summary>The longest message text the queue takes once base64-encoded (64 KiB).</summary>
    public const int MaxMessageChars = 48 * 1024;

    public static string Encode(UsageRecord record) => JsonSerializer.Serialize(record, Options);

    /// <summary>
    /// Records as batch messages, each at most <paramref name="maxChars"/> characters of text: as many records per
    /// message as fit (a batch that does not fit is split in two, and so on). A record too large for a message alone
    /// still gets one (the writer quarantines what it cannot store).
    /// </summary>
    public static IReadOnlyList<string> EncodeBatch(IReadOnlyList<UsageRecord> records, int maxChars = MaxMessageChars)
    {
        ArgumentNullException.ThrowIfNull(records);
        var messages = new List<string>();
        var pending = new Stack<ArraySegment<UsageRecord>>();
        if (records.Count > 0) pending.Push(new ArraySegment<UsageRecord>([.. records]));
        while (pending.TryPop(out var part))
        {
            var text = BatchText(part);
            if (text.Length <= maxChars || part.Count == 1)
            {
                messages.Add(text);
                continue;
            }

            var half = part.Count / 2;
            pending.Push(part[half..]);
            pending.Push(part[..half]);
        }

        return messages;
    }

    private static string BatchText(ArraySegment<UsageRecord> records)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new Utf8JsonWriter(gzip))
        {
            writer.WriteStartArray();
            foreach (var record in records) JsonSerializer.Serialize(writer, record, Options);
            writer.WriteEndArray();
        }

        return BatchPrefix + Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// The records in a message's text (a batch, or one record as JSON): every record that decodes and checks out, and
    /// each one that does not with why (they are quarantined, the rest written). Throws
    /// <see cref="UsageDecodeException"/> when the message as a whole cannot be read.
    /// </summary>
    public static UsageMessage DecodeMessage(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.StartsWith(BatchPrefix, StringComparison.Ordinal))
        {
            var json = text.TrimStart().StartsWith('{') ? text : FromBase64(text);
            if (json.StartsWith(BatchPrefix, StringComparison.Ordinal)) return DecodeMessage(json);
            return new UsageMessage([Decode(json)], []);
        }

        JsonElement array;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(Convert.FromBase64String(text[BatchPrefix.Length..])), CompressionMode.Decompress);
            array = JsonSerializer.Deserialize<JsonElement>(gzip);
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or JsonException)
        {
            throw new UsageDecodeException($"not a usage batch: {ex.Message}");
        }

        if (array.ValueKind != JsonValueKind.Array) throw new UsageDecodeException("not a usage batch: not an array");
        var good = new List<UsageRecord>(array.GetArrayLength());
        var bad = new List<(string Json, string Reason)>();
        foreach (var item in array.EnumerateArray())
        {
            var raw = item.GetRawText();
            try
            {
                good.Add(Decode(raw));
            }
            catch (UsageDecodeException ex)
            {
                bad.Add((raw, ex.Message));
            }
        }

        return new UsageMessage(good, bad);
    }

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

        if (record.PrefixTokens < 0 || record.MaxTokens < 0 || record.ToolsOffered < 0) throw new UsageDecodeException("prefixTokens, maxTokens and toolsOffered must not be negative");
        if (!IsHash(record.RequestHash) || !IsHash(record.PrefixHash)) throw new UsageDecodeException("requestHash and prefixHash must be 64 lower-case hex digits");

        return record;
    }

    /// <summary>Absent, or a SHA-256 as 64 lower-case hex digits (what <see cref="Caching.CacheKey"/> makes).</summary>
    private static bool IsHash(string? value) => value is null || (value.Length == 64 && value.All(char.IsAsciiHexDigitLower));

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

/// <summary>A decoded usage message: the records to write and the ones to quarantine (their JSON and why).</summary>
public sealed record UsageMessage(IReadOnlyList<UsageRecord> Records, IReadOnlyList<(string Json, string Reason)> Rejected);
