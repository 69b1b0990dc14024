using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Gateway.Deploy;

/// <summary>
/// A queue's <c>-poison</c> queue: how many messages wait there, and moving them back to the queue to be processed
/// again, unchanged (the Functions host put them there after 5 failed deliveries). Replaying is safe for the gateway's
/// queues: usage records and audit events are written idempotently (upsert by id), budget reports and alerts carry ids
/// their consumers deduplicate by.
/// </summary>
public sealed class PoisonQueue(QueueClient queue, QueueClient poison)
{
    /// <summary>The approximate number of messages in the poison queue (0 when it does not exist).</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken)
    {
        if (!await poison.ExistsAsync(cancellationToken).ConfigureAwait(false)) return 0;
        return (await poison.GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;
    }

    /// <summary>Moves up to <paramref name="max"/> messages back; each is sent to the queue before it is deleted from the poison queue.</summary>
    public async Task<int> ReplayAsync(int max, CancellationToken cancellationToken)
    {
        if (!await poison.ExistsAsync(cancellationToken).ConfigureAwait(false)) return 0;
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var moved = 0;
        while (moved < max)
        {
            QueueMessage[] batch = (await poison.ReceiveMessagesAsync(Math.Min(32, max - moved), TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false)).Value;
            if (batch.Length == 0) break;
            foreach (var message in batch)
            {
                await queue.SendMessageAsync(message.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
                await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                moved++;
            }
        }

        return moved;
    }
}
