using System.Buffers;

namespace Gateway.Core.Pipeline;

/// <summary>
/// Reads a request body up to a limit. Memory follows what has arrived, not what the client announced: the buffer
/// starts small and doubles as bytes come in, so a client announcing 8 MB and sending slowly holds little. A body over the
/// limit is refused with 413 — after the rest of it has been read and discarded (bounded in bytes and time), because a
/// proxy in front (the Functions host) fails to deliver an answer sent while it is still writing the body.
/// </summary>
public static class RequestBody
{
    private const int InitialBuffer = 16 * 1024;
    private const int DrainBuffer = 64 * 1024;

    /// <summary>The most a refused body is read on, to let the proxy deliver the 413.</summary>
    public const long MaxDrainBytes = 256L * 1024 * 1024;

    /// <summary>How long a refused body is read on at most.</summary>
    public static readonly TimeSpan MaxDrainTime = TimeSpan.FromSeconds(10);

    public static async ValueTask<byte[]> ReadAsync(Stream body, long? contentLength, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (contentLength > maxBytes)
        {
            await DrainAsync(body, cancellationToken).ConfigureAwait(false);
            throw Errors.Errors.PayloadTooLarge(maxBytes);
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(contentLength ?? InitialBuffer, InitialBuffer) + 1);
        var total = 0;
        try
        {
            while (true)
            {
                if (total == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, total).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(total, buffer.Length - total), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                total += read;
                if (total > maxBytes)
                {
                    await DrainAsync(body, cancellationToken).ConfigureAwait(false);
                    throw Errors.Errors.PayloadTooLarge(maxBytes);
                }
            }

            return buffer.AsSpan(0, total).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads and discards the rest of a body (at most <see cref="MaxDrainBytes"/>, for at most <see cref="MaxDrainTime"/>).</summary>
    public static async Task DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(MaxDrainTime);
        var buffer = ArrayPool<byte>.Shared.Rent(DrainBuffer);
        try
        {
            long drained = 0;
            while (drained < MaxDrainBytes)
            {
                var read = await body.ReadAsync(buffer, limit.Token).ConfigureAwait(false);
                if (read == 0) return;
                drained += read;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // too slow or too much: answer anyway
        }
        catch (IOException)
        {
            // the client stopped sending: nothing left to drain
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
