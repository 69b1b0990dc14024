using System.Text;
using Azure.Storage.Queues;

namespace Gateway.Storage;

/// <summary>
/// The two queues every alert goes to: the alert queue (for any consumer) and the webhook delivery queue (the gateway's
/// own signed sender retries from there). Messages are base64 JSON, the queue trigger's default encoding.
/// </summary>
internal sealed class AlertQueues(QueueClient alertQueue, QueueClient webhooks)
{
    private int _created;

    public async Task SendAsync(string json, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await alertQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await webhooks.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        var message = Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
        await alertQueue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        await webhooks.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
