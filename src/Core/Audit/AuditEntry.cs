using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Core.Audit;

/// <summary>
/// An <see cref="AuditEvent"/> at its place in the log. Sequence numbers start at 0 and have no gaps: the entry with
/// sequence <c>n</c> is leaf <c>n</c> of the log's Merkle tree, so a tree of size <c>n</c> covers sequences 0 to n−1.
/// </summary>
public sealed record AuditEntry(long Sequence, AuditEvent Event);

/// <summary>
/// The canonical text of an <see cref="AuditEntry"/>: the form it is stored in and the bytes its leaf hash is taken
/// over. One JSON object on one line, properties in a fixed order (<c>sequence, id, at, type, actor, scope, target,
/// subject, before, after, details</c>), camelCase, nulls left out, <c>at</c> in UTC with seven fraction digits,
/// <c>details</c> keys sorted ordinally, <c>before</c>/<c>after</c> written as they are.
/// </summary>
/// <remarks>
/// The hash is over the stored text, never over a re-serialization: an entry written today must verify in years,
/// whatever a later runtime's JSON writer would make of the same event (its escaping of new Unicode characters, say).
/// So the log stores exactly the string <see cref="Serialize"/> returns, and a verifier hashes what it reads.
/// </remarks>
public static class AuditEntryCodec
{
    private const string AtFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentOutOfRangeException.ThrowIfNegative(entry.Sequence);
        var e = entry.Event ?? throw new ArgumentException("an entry has an event", nameof(entry));
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("sequence", entry.Sequence);
            w.WriteString("id", e.Id);
            w.WriteString("at", e.At.ToUniversalTime().ToString(AtFormat, CultureInfo.InvariantCulture));
            w.WriteString("type", e.Type);
            w.WriteString("actor", e.Actor);
            WriteIfSet(w, "scope", e.Scope);
            WriteIfSet(w, "target", e.Target);
            WriteIfSet(w, "subject", e.Subject);
            if (e.Before is not null)
            {
                w.WritePropertyName("before");
                e.Before.WriteTo(w);
            }

            if (e.After is not null)
            {
                w.WritePropertyName("after");
                e.After.WriteTo(w);
            }

            if (e.Details is not null)
            {
                w.WriteStartObject("details");
                foreach (var (key, value) in e.Details.OrderBy(d => d.Key, StringComparer.Ordinal)) w.WriteString(key, value);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads an entry's text.</summary>
    /// <exception cref="FormatException">Not an entry: bad JSON, a missing or unknown property, a value of the wrong kind.</exception>
    public static AuditEntry Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(Encoding.UTF8.GetBytes(text), out var entry, out var error) ? entry : throw new FormatException(error);
    }

    /// <summary>The Merkle leaf hash of an entry's stored text (<see cref="MerkleTree.LeafHash"/> of its UTF-8 bytes).</summary>
    public static byte[] LeafHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return MerkleTree.LeafHash(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Reads an entry from its UTF-8 text; never throws on bad input.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> utf8, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AuditEntry? entry, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        entry = null;
        try
        {
            error = Read(utf8, out entry);
            return error is null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            error = "not an audit entry: " + e.Message;
            return false;
        }
    }

    private static string? Read(ReadOnlySpan<byte> utf8, out AuditEntry? entry)
    {
        entry = null;
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return "an audit entry is a JSON object";
        long? sequence = null;
        string? id = null, at = null, type = null, actor = null, scope = null, target = null, subject = null;
        JsonNode? before = null, after = null;
        Dictionary<string, string>? details = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            if (!seen.Add(name)) return $"property '{name}' appears twice";
            reader.Read();
            switch (name)
            {
                case "sequence":
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var s) || s < 0) return "sequence is a non-negative integer";
                    sequence = s;
                    break;
                case "id": id = StringValue(ref reader); break;
                case "at": at = StringValue(ref reader); break;
                case "type": type = StringValue(ref reader); break;
                case "actor": actor = StringValue(ref reader); break;
                case "scope": scope = StringValue(ref reader); break;
                case "target": target = StringValue(ref reader); break;
                case "subject": subject = StringValue(ref reader); break;
                case "before": before = JsonNode.Parse(ref reader); break;
                case "after": after = JsonNode.Parse(ref reader); break;
                case "details":
                    if (reader.TokenType != JsonTokenType.StartObject) return "details is an object of strings";
                    details = new Dictionary<string, string>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        if (!details.TryAdd(key, StringValue(ref reader))) return $"details key '{key}' appears twice";
                    }

                    break;
                default:
                    return $"unknown property '{name}'";
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject) return "an audit entry is a JSON object";
        if (reader.Read()) return "text after the entry";
        if (sequence is null || id is null || at is null || type is null || actor is null) return "sequence, id, at, type and actor are required";
        if (!DateTimeOffset.TryParseExact(at, AtFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var when))
            return "at is a UTC time like 2025-12-01T10:00:00.0000000Z";
        entry = new AuditEntry(sequence.Value, new AuditEvent
        {
            Id = id, At = when, Type = type, Actor = actor, Scope = scope, Target = target, Subject = subject,
            Before = before, After = after, Details = details,
        });
        return null;
    }

    private static string StringValue(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new FormatException("expected a string");

    private static void WriteIfSet(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }
}
