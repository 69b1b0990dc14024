using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Gateway.Core.Providers;

/// <summary>One server-sent event: its <c>event:</c> name (if any) and its data lines joined.</summary>
public readonly record struct SseEvent(string? Event, string Data);

/// <summary>
/// Reads server-sent events from a stream as they arrive, without buffering the whole body. Lines end with LF, CRLF or
/// CR; a leading byte-order mark is skipped. The bytes are read through a pipe of pooled 1 KiB segments that go back to
/// the pool once read: while the gateway waits on a slow client, a stream holds only what it has received and not yet
/// passed on, in the one or two segments its next events are in (a <see cref="StreamReader"/> held a byte buffer and a
/// char buffer, 12 KiB, for the stream's life; 4 KiB segments held 4 KiB). A fast stream reads its upstream's
/// connection buffer in 1 KiB steps instead of 4 KiB ones: copies from memory, a few per chunk at most.
/// </summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    /// <summary>The size of the pipe's pooled segments, and so of one read from the upstream.</summary>
    internal const int SegmentBytes = 1024;

    private readonly PipeReader _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: SegmentBytes, minimumReadSize: 256));
    /// <summary>The last line ended with CR: an LF straight after it is part of that line's end.</summary>
    private bool _skipLf;
    private bool _started;

    /// <summary>The next event, or null when the stream ends.</summary>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? eventName = null;
        StringBuilder? data = null;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>The next line without its end, or null at the end of the stream.</summary>
    private async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (_skipLf && !buffer.IsEmpty)
            {
                _skipLf = false;
                if (buffer.FirstSpan[0] == (byte)'\n') buffer = buffer.Slice(1);
            }

            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadToAny(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: false))
            {
                reader.TryRead(out var end);
                if (end == (byte)'\r')
                {
                    if (reader.End) _skipLf = true;
                    else reader.IsNext((byte)'\n', advancePast: true);
                }

                var text = Decode(line);
                _reader.AdvanceTo(reader.Position);
                return text;
            }

            if (result.IsCompleted)
            {
                // the last line, without an end of its own (or nothing left)
                var text = buffer.IsEmpty ? null : Decode(buffer);
                _reader.AdvanceTo(buffer.End);
                return text;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private string Decode(ReadOnlySequence<byte> line)
    {
        var text = Encoding.UTF8.GetString(line);
        if (_started) return text;
        _started = true;
        return text.StartsWith('\uFEFF') ? text[1..] : text;
    }

    public void Dispose() => _reader.Complete();
}
