using Azure.Storage.Queues;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Sends each finished request's usage record to the usage queue (base64 JSON, the Functions queue trigger's default
/// encoding). The Azure SDK retries transient failures; a send that still fails surfaces to the caller, which logs it.
/// </summary>
public sealed class QueueUsageSink(QueueClient queue) : IUsageSink
{
    private int _created;

    public async ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        await queue.SendMessageAsync(UsageRecordCodec.ToBase64(record), cancellationToken).ConfigureAwait(false);
    }
}
