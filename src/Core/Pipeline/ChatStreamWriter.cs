using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Providers;

namespace Gateway.Core.Pipeline;

/// <summary>
/// Writes an upstream stream to the client as server-sent events, chunk by chunk with a flush after
/// each (never the whole response at once). The usage chunk is passed on only when the client asked for
/// it (<c>stream_options.include_usage</c>). A failure after the first byte — a gateway error, or any other
/// exception, sent as the 500 <c>internal_error</c> the client would otherwise have got — is sent as an error event,
/// and the stream ends without <c>[DONE]</c>, as OpenAI does; the caller then aborts the connection
/// (<see cref="StreamOutcome.Error"/> is set), so no client can take the stream for a complete one.
/// A client that stops reading holds the gateway to one chunk at a time: nothing is read from the upstream while a
/// write waits (so what is buffered per stream is the server's own output buffer, 64 KiB in Kestrel, and the socket's);
/// one that accepts nothing for <c>writeTimeout</c> is dropped (<c>client_too_slow</c>) and the upstream call ends with it.
/// </summary>
public static class ChatStreamWriter
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public const string ClientTooSlowCode = "client_too_slow";

    /// <summary>A client that accepted nothing for the write timeout (recorded as a 499: it is the client that stopped).</summary>
    public static GatewayError ClientTooSlow(TimeSpan timeout) => new(499,
        $"The client read nothing for {timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} s; the stream was dropped and the upstream call cancelled.",
        "client_error", null, ClientTooSlowCode);

    /// <summary>Writes every chunk; returns how the stream ended.</summary>
    public static async Task<StreamOutcome> WriteAsync(IChatStream stream, Stream output, bool includeUsage, CancellationToken cancellationToken, TimeSpan? writeTimeout = null)
    {
        var chunks = 0;
        // the write timeout on a timer of its own: a server that aborts the connection when a write is cancelled (Kestrel
        // does) cancels the client's token too, and the stream still ended because the client took nothing, not because it left
        using var timer = writeTimeout is null ? null : new CancellationTokenSource();
        using var slow = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var writeToken = slow?.Token ?? cancellationToken;
        using var buffer = new PooledBufferWriter();
        using var writer = new Utf8JsonWriter(buffer);
        try
        {
            while (await stream.ReadAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
            {
                if (!includeUsage)
                {
                    if (chunk["choices"] is JsonArray { Count: 0 } && chunk.ContainsKey("usage")) continue;
                    chunk.Remove("usage");
                }
                buffer.Clear();
                writer.Reset(buffer);
                buffer.Write(DataPrefix);
                chunk.WriteTo(writer);
                writer.Flush();
                buffer.Write(EventEnd);
                timer?.CancelAfter(writeTimeout!.Value);
                await output.WriteAsync(buffer.WrittenMemory, writeToken).ConfigureAwait(false);
                await output.FlushAsync(writeToken).ConfigureAwait(false);
                timer?.CancelAfter(Timeout.InfiniteTimeSpan);
                chunks++;
            }
            if (stream is IStreamTrailer { Trailer: { } trailer })
            {
                // An SSE comment: shown to people reading the stream, ignored by SDKs.
                await output.WriteAsync(Encoding.UTF8.GetBytes(": " + trailer.ReplaceLineEndings(" ") + "\n\n"), cancellationToken).ConfigureAwait(false);
            }

            await output.WriteAsync(Done, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            return new StreamOutcome(chunks, null);
        }
        catch (OperationCanceledException) when (timer?.IsCancellationRequested == true)
        {
            // the client accepted nothing for the whole write timeout: no error event either (it would wait the same way)
            return new StreamOutcome(chunks, ClientTooSlow(writeTimeout!.Value));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            var error = Errors.Errors.For(ex);
            try
            {
                await output.WriteAsync(Encoding.UTF8.GetBytes("data: " + Encoding.UTF8.GetString(error.ToJsonBytes()) + "\n\n"), cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception writeFailed) when (writeFailed is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the connection is already gone: the caller aborts it all the same
            }

            return new StreamOutcome(chunks, error) { Failure = ex is GatewayException ? null : ex };
        }
    }
}

/// <summary>How many chunks reached the client, and the error that ended the stream early, if any.</summary>
public sealed record StreamOutcome(int Chunks, GatewayError? Error)
{
    /// <summary>The exception behind <see cref="Error"/> when it was not a gateway error (a bug, an I/O failure): to log.</summary>
    public Exception? Failure { get; init; }
}

/// <summary>A growable byte buffer for serialising one chunk at a time.</summary>
internal sealed class PooledBufferWriter : System.Buffers.IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
    private int _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Clear() => _written = 0;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (_buffer.Length - _written >= Math.Max(sizeHint, 1)) return;
        var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose() => System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
}
