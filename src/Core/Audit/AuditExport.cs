using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Core.Audit;

/// <summary>An export read back: the entries' stored texts and the checkpoints' texts, each in log order.</summary>
public sealed record AuditExportContent(IReadOnlyList<string> Entries, IReadOnlyList<string> Checkpoints);

/// <summary>
/// The audit log as a file anyone can verify offline with the public key: JSON Lines, in log order.
/// <code>
/// {"format":"gateway-audit-export/v1"}
/// {"entry":"{\"sequence\":0,\"id\":…}"}
/// …
/// {"checkpoint":{"format":"gateway-audit-checkpoint/v1","treeSize":1000,…}}
/// </code>
/// The first line names the format. Each entry is its stored text as a JSON string, so the exact bytes its leaf hash
/// is over survive any tool that reformats JSON; each checkpoint is its object (a checkpoint is hashed in its canonical
/// form, whatever the layout it is read from), or a string when the stored text is not a JSON object. A checkpoint of
/// size n comes right before the entry with sequence n.
/// </summary>
public static class AuditExport
{
    public const string Format = "gateway-audit-export/v1";

    private static readonly JsonSerializerOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="entries">The stored entry texts, in sequence order.</param>
    /// <param name="checkpoints">The stored checkpoint texts, oldest first.</param>
    public static void Write(TextWriter output, IEnumerable<string> entries, IReadOnlyList<string> checkpoints)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(checkpoints);
        output.Write(Header);
        var next = 0;
        foreach (var entry in entries)
        {
            foreach (var line in Lines(entry, checkpoints, ref next)) output.Write(line);
        }

        foreach (var line in CheckpointLines(checkpoints, ref next, long.MaxValue)) output.Write(line);
    }

    /// <summary>The same export written asynchronously to a stream (an HTTP response), entries read as they come.</summary>
    public static async Task WriteAsync(Stream output, IAsyncEnumerable<string> entries, IReadOnlyList<string> checkpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(checkpoints);
        var writer = new StreamWriter(output, new System.Text.UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteAsync(Header).ConfigureAwait(false);
            var next = 0;
            long count = 0;
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                foreach (var line in Lines(entry, checkpoints, ref next)) await writer.WriteAsync(line).ConfigureAwait(false);
                if (++count % 256 == 0) await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            foreach (var line in CheckpointLines(checkpoints, ref next, long.MaxValue)) await writer.WriteAsync(line).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private const string Header = "{\"format\":\"" + Format + "\"}\n";

    /// <summary>The checkpoints due before an entry, then the entry's line.</summary>
    private static List<string> Lines(string entry, IReadOnlyList<string> checkpoints, ref int next)
    {
        var lines = AuditEntryCodec.TryParse(System.Text.Encoding.UTF8.GetBytes(entry), out var parsed, out _) ? CheckpointLines(checkpoints, ref next, parsed.Sequence) : [];
        lines.Add("{\"entry\":" + JsonSerializer.Serialize(entry, LineOptions) + "}\n");
        return lines;
    }

    /// <exception cref="FormatException">Not an export of this format; the message names the line.</exception>
    public static AuditExportContent Read(TextReader input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var entries = new List<string>();
        var checkpoints = new List<string>();
        var number = 0;
        var header = false;
        while (input.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || root.EnumerateObject().Count() != 1) throw new FormatException("a line is an object with one property");
                var property = root.EnumerateObject().Single();
                if (!header)
                {
                    if (property.Name != "format" || property.Value.GetString() != Format) throw new FormatException($"the first line is {{\"format\":\"{Format}\"}}");
                    header = true;
                    continue;
                }

                switch (property.Name)
                {
                    case "entry" when property.Value.ValueKind == JsonValueKind.String:
                        entries.Add(property.Value.GetString()!);
                        break;
                    case "checkpoint" when property.Value.ValueKind == JsonValueKind.Object:
                        checkpoints.Add(property.Value.GetRawText());
                        break;
                    case "checkpoint" when property.Value.ValueKind == JsonValueKind.String:
                        checkpoints.Add(property.Value.GetString()!);
                        break;
                    default:
                        throw new FormatException("a line is {\"entry\":\"…\"} or {\"checkpoint\":{…}}");
                }
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new FormatException($"line {number}: {e.Message}", e);
            }
        }

        if (!header) throw new FormatException($"an empty file, not a {Format} export");
        return new AuditExportContent(entries, checkpoints);
    }

    /// <summary>The lines of the checkpoints from index <paramref name="next"/> that come before the entry with sequence <paramref name="sequence"/> (an unreadable one as soon as it is reached); <paramref name="next"/> moves past them.</summary>
    private static List<string> CheckpointLines(IReadOnlyList<string> checkpoints, ref int next, long sequence)
    {
        var lines = new List<string>();
        for (; next < checkpoints.Count; next++)
        {
            var checkpoint = TryParse(checkpoints[next]);
            if (checkpoint is not null && checkpoint.TreeSize > sequence) break;
            lines.Add("{\"checkpoint\":" + (checkpoint?.Serialize() ?? JsonSerializer.Serialize(checkpoints[next], LineOptions)) + "}\n");
        }

        return lines;
    }

    private static Checkpoint? TryParse(string text)
    {
        try
        {
            return text is null ? null : Checkpoint.Parse(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
