using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Audit;

/// <summary>
/// Audit events on the queue: <c>A1:</c> + a JSON array of events, split so that each message stays within the queue's
/// 64 KiB (48 KiB of text before the trigger's base64). An event too large for a message alone is refused at the sink
/// by nobody: events are small by construction (before/after states of single objects).
/// </summary>
public static class AuditEventCodec
{
    private const string Prefix = "A1:";
    private const int MaxMessageChars = 46 * 1024;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static IEnumerable<string> EncodeBatch(IReadOnlyList<AuditEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var message = new StringBuilder(Prefix).Append('[');
        var count = 0;
        foreach (var e in events)
        {
            var json = JsonSerializer.Serialize(e, Json);
            if (count > 0 && message.Length + json.Length + 2 > MaxMessageChars)
            {
                yield return message.Append(']').ToString();
                message.Clear().Append(Prefix).Append('[');
                count = 0;
            }

            if (count++ > 0) message.Append(',');
            message.Append(json);
        }

        if (count > 0) yield return message.Append(']').ToString();
    }

    /// <summary>The events of one message; throws <see cref="FormatException"/> when it is not one.</summary>
    public static IReadOnlyList<AuditEvent> Decode(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.StartsWith(Prefix, StringComparison.Ordinal)) throw new FormatException("Not an audit event message.");
        try
        {
            var events = JsonSerializer.Deserialize<List<AuditEvent>>(message.AsSpan(Prefix.Length), Json) ?? throw new FormatException("An empty audit event message.");
            foreach (var e in events)
            {
                if (e is null || string.IsNullOrEmpty(e.Id) || string.IsNullOrEmpty(e.Type) || string.IsNullOrEmpty(e.Actor)) throw new FormatException("An audit event without an id, a type or an actor.");
            }

            return events;
        }
        catch (JsonException ex)
        {
            throw new FormatException("An audit event message that is not valid JSON.", ex);
        }
    }
}
