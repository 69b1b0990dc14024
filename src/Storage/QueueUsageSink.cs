using System.Text;
using Azure.Storage.Queues;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Sends batches of usage records to the usage queue: each message is <c>U2:</c> + base64(gzip(JSON array)), itself
/// base64-encoded (the Functions queue trigger's encoding), at most 64 KiB — a few hundred records. The Azure SDK
/// retries transient failures; a send that still fails throws, and the batcher keeps the records and tries again.
/// </summary>
public sealed class QueueUsageBatchSender(QueueClient queue) : IUsageBatchSender
{
    private int _created;

    public async Task SendAsync(IReadOnlyList<UsageRecord> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0) return;
        if (Volatile.Read(ref _created) == 0)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        foreach (var text in UsageRecordCodec.EncodeBatch(items))
        {
            await queue.SendMessageAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes(text)), cancellationToken).ConfigureAwait(false);
        }
    }
}
