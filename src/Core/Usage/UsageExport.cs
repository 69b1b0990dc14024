using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Core.Usage;

/// <summary>
/// Streams raw usage records as CSV (RFC 4180) or a JSON array, flushing as it goes, so an export of any size never
/// sits in memory. CSV cells that a spreadsheet would run as a formula (starting with = + - @) are prefixed with '.
/// </summary>
public static class UsageExport
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "request_id", "client_request_id", "at", "key_id", "key_name", "user", "team", "tags", "model_requested", "model_served",
        "provider", "deployment", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens",
        "cost_usd", "cost_estimated", "price_key", "latency_ms", "time_to_first_token_ms", "stream", "cache_status", "outcome", "status", "error_code",
        "billed_failures", "billed_failures_cost_usd",
        "request_hash", "prefix_hash", "prefix_tokens", "max_tokens", "tools_offered", "finish_reason",
    ];

    private const int FlushEvery = 256;

    public static async Task<long> WriteCsvAsync(IAsyncEnumerable<UsageRecord> records, Stream output, CancellationToken cancellationToken)
    {
        var writer = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteAsync(string.Join(',', Columns) + "\r\n").ConfigureAwait(false);
            long count = 0;
            var line = new StringBuilder(512);
            await foreach (var r in records.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                line.Clear();
                Cell(line, r.RequestId); Cell(line, r.ClientRequestId); Cell(line, Iso(r.At)); Cell(line, r.KeyId); Cell(line, r.KeyName);
                Cell(line, r.User); Cell(line, r.Team); Cell(line, string.Join(';', r.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value)));
                Cell(line, r.ModelRequested); Cell(line, r.ModelServed); Cell(line, r.Provider); Cell(line, r.Deployment);
                Num(line, r.PromptTokens); Num(line, r.CompletionTokens); Num(line, r.CachedTokens); Num(line, r.CacheWriteTokens); Num(line, r.ReasoningTokens);
                line.Append(r.CostUsd.ToString(CultureInfo.InvariantCulture)).Append(',');
                line.Append(r.CostEstimated ? "true" : "false").Append(',');
                Cell(line, r.PriceKey); Num(line, r.LatencyMs);
                Optional(line, r.TimeToFirstTokenMs);
                line.Append(r.Stream ? "true" : "false").Append(',');
                Cell(line, r.CacheStatus); Cell(line, r.Outcome); Num(line, r.Status); Cell(line, r.ErrorCode);
                Num(line, r.BilledFailures); line.Append(r.BilledFailuresCostUsd.ToString(CultureInfo.InvariantCulture)).Append(',');
                Cell(line, r.RequestHash); Cell(line, r.PrefixHash); Optional(line, r.PrefixTokens); Optional(line, r.MaxTokens); Optional(line, r.ToolsOffered);
                Cell(line, r.FinishReason);
                line.Length--; // the last comma
                line.Append("\r\n");
                await writer.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                if (++count % FlushEvery == 0) await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return count;
        }
    }

    public static Task<long> WriteJsonAsync(IAsyncEnumerable<UsageRecord> records, Stream output, CancellationToken cancellationToken) =>
        WriteJsonArrayAsync(records, UsageRecordCodec.EncodeUtf8, output, cancellationToken);

    /// <summary>A JSON array of items each already JSON (<paramref name="encode"/>), streamed: flushed every few hundred, never held whole.</summary>
    internal static async Task<long> WriteJsonArrayAsync<T>(IAsyncEnumerable<T> items, Func<T, byte[]> encode, Stream output, CancellationToken cancellationToken)
    {
        var json = new Utf8JsonWriter(output);
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartArray();
            long count = 0;
            await foreach (var item in items.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                json.WriteRawValue(encode(item), skipInputValidation: true);
                if (++count % FlushEvery == 0) await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            json.WriteEndArray();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            return count;
        }
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static void Num(StringBuilder line, long value) => line.Append(value.ToString(CultureInfo.InvariantCulture)).Append(',');

    /// <summary>A number, or an empty cell when there is none.</summary>
    private static void Optional(StringBuilder line, long? value)
    {
        if (value is { } v) Num(line, v);
        else line.Append(',');
    }

    internal static void Cell(StringBuilder line, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            line.Append(',');
            return;
        }

        var formula = value[0] is '=' or '+' or '-' or '@' or '\t' or '\r';
        var quote = formula || value.AsSpan().IndexOfAny(",\"\r\n") >= 0;
        if (!quote)
        {
            line.Append(value).Append(',');
            return;
        }

        line.Append('"');
        if (formula) line.Append('\'');
        line.Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\",");
    }
}

/// <summary>An export request: <c>from</c>, <c>to</c> (ISO 8601) and <c>format</c> (csv or json, default csv).</summary>
public sealed record UsageExportQuery(DateTimeOffset From, DateTimeOffset To, string Format)
{
    public static UsageExportQuery Parse(Func<string, string?> query)
    {
        var from = UsageReportQuery.Time(query("from"), "from");
        var to = UsageReportQuery.Time(query("to"), "to");
        if (to <= from) throw Errors.Errors.InvalidRequest("'to' must be after 'from'.", "to");
        var format = (query("format") ?? "csv").ToLowerInvariant();
        if (format is not ("csv" or "json")) throw Errors.Errors.InvalidRequest("'format' must be csv or json.", "format");
        return new UsageExportQuery(from, to, format);
    }
}
