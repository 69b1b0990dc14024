using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Core.Usage;

namespace Gateway.Core.Audit;

/// <summary>The audit API's parameters, validated: a bad one is a 400 naming it, never a 500.</summary>
public static class AuditRequests
{
    public const int MaxFilterLength = 256;

    /// <summary><c>from</c>, <c>to</c> (ISO 8601; <c>to</c> after <c>from</c>), <c>actor</c>, <c>type</c> (a type, or a family such as <c>admin.</c>), <c>scope</c>, <c>format</c> (json or csv).</summary>
    public static (AuditQuery Query, string Format) ParseEvents(Func<string, string?> query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var from = UsageReportQuery.Time(query("from"), "from");
        var to = UsageReportQuery.Time(query("to"), "to");
        if (to <= from) throw Errors.Errors.InvalidRequest("'to' must be after 'from'.", "to");
        var format = (query("format") ?? "json").ToLowerInvariant();
        if (format is not ("csv" or "json")) throw Errors.Errors.InvalidRequest("'format' must be csv or json.", "format");
        return (new AuditQuery(from, to, Filter(query, "actor"), Filter(query, "type"), Filter(query, "scope")), format);
    }

    /// <summary>The report's period: <c>from</c> and <c>to</c>, as for events.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) ParsePeriod(Func<string, string?> query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var from = UsageReportQuery.Time(query("from"), "from");
        var to = UsageReportQuery.Time(query("to"), "to");
        return to > from ? (from, to) : throw Errors.Errors.InvalidRequest("'to' must be after 'from'.", "to");
    }

    /// <summary>An optional sequence number (or tree size): a whole number ≥ 0 (≥ 1 for a tree size).</summary>
    public static long? Sequence(Func<string, string?> query, string name, long min = 0)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = query(name);
        if (string.IsNullOrWhiteSpace(text)) return null;
        return long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw Errors.Errors.InvalidRequest($"'{name}' must be a whole number of at least {min}.", name);
    }

    /// <summary>A sequence number that must be there.</summary>
    public static long Required(Func<string, string?> query, string name, long min = 0) =>
        Sequence(query, name, min) ?? throw Errors.Errors.InvalidRequest($"'{name}' is required.", name);

    private static string? Filter(Func<string, string?> query, string name)
    {
        var value = query(name);
        if (string.IsNullOrEmpty(value)) return null;
        return value.Length <= MaxFilterLength && !value.Any(char.IsControl) ? value : throw Errors.Errors.InvalidRequest($"'{name}' must be at most {MaxFilterLength} printable characters.", name);
    }

    public static readonly IReadOnlyList<string> CsvColumns = ["sequence", "id", "at", "type", "actor", "scope", "target", "subject", "details", "before", "after"];

    /// <summary>Entries as CSV (one row each; details, before and after as JSON cells), streamed.</summary>
    public static async Task<long> WriteCsvAsync(IAsyncEnumerable<AuditEntry> entries, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var writer = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteAsync(string.Join(',', CsvColumns) + "\r\n").ConfigureAwait(false);
            long count = 0;
            var line = new StringBuilder(512);
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var e = entry.Event;
                line.Clear();
                line.Append(entry.Sequence.ToString(CultureInfo.InvariantCulture)).Append(',');
                UsageExport.Cell(line, e.Id);
                UsageExport.Cell(line, e.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                UsageExport.Cell(line, e.Type); UsageExport.Cell(line, e.Actor); UsageExport.Cell(line, e.Scope); UsageExport.Cell(line, e.Target); UsageExport.Cell(line, e.Subject);
                UsageExport.Cell(line, e.Details is null ? null : JsonSerializer.Serialize(e.Details.OrderBy(d => d.Key, StringComparer.Ordinal).ToDictionary(d => d.Key, d => d.Value)));
                UsageExport.Cell(line, e.Before?.ToJsonString()); UsageExport.Cell(line, e.After?.ToJsonString());
                line.Length--;
                line.Append("\r\n");
                await writer.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                if (++count % 256 == 0) await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return count;
        }
    }

    /// <summary>Entries as a JSON array of their canonical texts (each one exactly as stored, so it can be hashed again), streamed.</summary>
    public static Task<long> WriteJsonAsync(IAsyncEnumerable<AuditEntry> entries, Stream output, CancellationToken cancellationToken) =>
        UsageExport.WriteJsonArrayAsync(entries, e => Encoding.UTF8.GetBytes(AuditEntryCodec.Serialize(e)), output, cancellationToken);
}
