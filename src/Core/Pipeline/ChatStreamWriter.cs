using System.Buffers;
using System.IO.Pipelines;
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
/// write waits (so what is buffered per stream is the server's own output buffer — Kestrel's, bounded by
/// <c>StreamBufferBytes</c> — and the socket's; the chunk's serialiser buffer goes back to the pool before the wait);
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

    /// <summary>
    /// Writes every chunk to a stream, through a pipe over it; returns how the stream ended. What a failed or cancelled
    /// write left in that pipe is dropped, never written later without a deadline.
    /// </summary>
    public static async Task<StreamOutcome> WriteAsync(IChatStream stream, Stream output, bool includeUsage, CancellationToken cancellationToken, TimeSpan? writeTimeout = null)
    {
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        StreamOutcome? outcome = null;
        try
        {
            outcome = await WriteAsync(stream, pipe, includeUsage, cancellationToken, writeTimeout).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            // completed with an exception, the pipe returns its segments without writing what they hold
            await pipe.CompleteAsync(outcome is { Error: null } ? null : new OperationCanceledException("the stream ended early")).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes every chunk to the response's pipe; returns how the stream ended. Each chunk is serialised into a buffer
    /// rented for that chunk alone, copied into the pipe and the buffer returned before the flush: a flush that waits on a
    /// slow client holds only what the pipe holds (Kestrel's output blocks), not a serialiser's buffer as well.
    /// </summary>
    public static Task<StreamOutcome> WriteAsync(IChatStream stream, PipeWriter output, bool includeUsage, CancellationToken cancellationToken, TimeSpan? writeTimeout = null) =>
        WriteAsync(stream, output, includeUsage, ArrayPool<byte>.Shared, writeTimeout, cancellationToken);

    /// <summary>As above, with the pool the chunk buffers come from (a test's, to see when they are rented and returned).</summary>
    internal static async Task<StreamOutcome> WriteAsync(IChatStream stream, PipeWriter output, bool includeUsage, ArrayPool<byte> pool, TimeSpan? writeTimeout,
        CancellationToken cancellationToken)
    {
        var chunks = 0;
        // the write timeout on a timer of its own: a server that aborts the connection when a write is cancelled (Kestrel
        // does) cancels the client's token too, and the stream still ended because the client took nothing, not because it left
        using var timer = writeTimeout is null ? null : new CancellationTokenSource();
        using var slow = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var writeToken = slow?.Token ?? cancellationToken;
        using var buffer = new PooledBufferWriter(pool);
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
                writer.Reset(buffer);
                buffer.Write(DataPrefix);
                chunk.WriteTo(writer);
                writer.Flush();
                buffer.Write(EventEnd);
                // the whole event into the pipe at once (a chunk that fails to serialise leaves nothing half-written there),
                // and the buffer back to the pool before the flush, which is where a slow client makes the stream wait
                output.Write(buffer.WrittenSpan);
                buffer.Release();
                timer?.CancelAfter(writeTimeout!.Value);
                await output.FlushAsync(writeToken).ConfigureAwait(false);
                timer?.CancelAfter(Timeout.InfiniteTimeSpan);
                chunks++;
            }
            if (stream is IStreamTrailer { Trailer: { } trailer })
            {
                // An SSE comment: shown to people reading the stream, ignored by SDKs.
                output.Write(Encoding.UTF8.GetBytes(": " + trailer.ReplaceLineEndings(" ") + "\n\n"));
            }

            output.Write(Done);
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
                output.Write(Encoding.UTF8.GetBytes("data: " + Encoding.UTF8.GetString(error.ToJsonBytes()) + "\n\n"));
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception writeFailed) when (writeFailed is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
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

/// <summary>
/// A growable byte buffer for serialising one chunk at a time: it rents from the pool when first written to and goes back
/// to the pool on <see cref="Release"/> (and on dispose), so between chunks it holds nothing.
/// </summary>
internal sealed class PooledBufferWriter(System.Buffers.ArrayPool<byte> pool) : System.Buffers.IBufferWriter<byte>, IDisposable
{
    private const int InitialSize = 4096;
    private byte[]? _buffer;
    private int _written;

    public PooledBufferWriter() : this(System.Buffers.ArrayPool<byte>.Shared) { }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Forgets what was written and returns the buffer to the pool; the next write rents one again.</summary>
    public void Release()
    {
        _written = 0;
        if (_buffer is null) return;
        var buffer = _buffer;
        _buffer = null;
        pool.Return(buffer);
    }

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
        if (_buffer is null)
        {
            _buffer = pool.Rent(Math.Max(InitialSize, sizeHint));
            return;
        }
        if (_buffer.Length - _written >= Math.Max(sizeHint, 1)) return;
        var bigger = pool.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        pool.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose() => Release();
}
