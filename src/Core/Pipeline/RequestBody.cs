using System.Buffers;

namespace Gateway.Core.Pipeline;

/// <summary>Reads a request body up to a limit, refusing larger ones with 413 before reading them whole.</summary>
public static class RequestBody
{
    public static async ValueTask<byte[]> ReadAsync(Stream body, long? contentLength, long maxBytes, CancellationToken cancellationToken)
    {
        if (contentLength > maxBytes) throw Errors.Errors.PayloadTooLarge(maxBytes);
        var capacity = contentLength is { } len ? (int)len : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));
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
                if (total > maxBytes) throw Errors.Errors.PayloadTooLarge(maxBytes);
            }
            return buffer.AsSpan(0, total).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
