using System.Text;
using Azure.Storage.Queues;
using Gateway.Core.Audit;
using Gateway.Core.Usage;

namespace Gateway.Storage;

/// <summary>
/// Sends batches to a queue in the messages <paramref name="encode"/> splits them into (each within the queue's 64 KiB),
/// base64-encoded as the Functions queue trigger reads them. The Azure SDK retries transient failures; a send that
/// still fails throws, and the batcher keeps the items and tries again.
/// </summary>
public class QueueBatchSender<T>(QueueClient queue, Func<IReadOnlyList<T>, IEnumerable<string>> encode) : IBatchSender<T>
{
    private int _created;

    public async Task SendAsync(IReadOnlyList<T> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) return;
        if (Volatile.Read(ref _created) == 0)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        foreach (var text in encode(items))
        {
            await queue.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Usage records to the usage queue: each message is <c>U2:</c> + base64(gzip(JSON array)) — a few hundred records.</summary>
public sealed class QueueUsageBatchSender(QueueClient queue) : QueueBatchSender<UsageRecord>(queue, records => UsageRecordCodec.EncodeBatch(records)), IUsageBatchSender;

/// <summary>Audit events to the <c>audit-events</c> queue (<see cref="AuditEventCodec"/>).</summary>
public sealed class QueueAuditBatchSender(QueueClient queue) : QueueBatchSender<AuditEvent>(queue, AuditEventCodec.EncodeBatch);
