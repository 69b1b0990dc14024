using System.Text;

namespace Gateway.Core.Providers;

/// <summary>One server-sent event: its <c>event:</c> name (if any) and its data lines joined.</summary>
public readonly record struct SseEvent(string? Event, string Data);

/// <summary>Reads server-sent events from a stream as they arrive, without buffering the whole body.</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096);

    /// <summary>The next event, or null when the stream ends.</summary>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? eventName = null;
        StringBuilder? data = null;
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
                return data is null ? null : new SseEvent(eventName, data.ToString());
            if (line.Length == 0)
            {
                if (data is null) { eventName = null; continue; }
                return new SseEvent(eventName, data.ToString());
            }
            if (line[0] == ':') continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "event": eventName = value; break;
                case "data":
                    if (data is null) data = new StringBuilder(value);
                    else data.Append('\n').Append(value);
                    break;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
