using System.Text;
using Azure.Storage.Queues;
using Gateway.Core.Budgets;

namespace Gateway.Storage;

/// <summary>
/// Puts each budget alert on the alert queue (for any consumer) and on the webhook delivery queue (the gateway's own
/// sender retries from there). Messages are base64 JSON, the queue trigger's default encoding.
/// </summary>
public sealed class QueueBudgetAlertSink(QueueClient alertQueue, QueueClient webhooks) : IBudgetAlertSink
{
    private int _created;

    public async Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await alertQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await webhooks.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        foreach (var alert in alerts)
        {
            var message = Convert.ToBase64String(Encoding.UTF8.GetBytes(BudgetAlertMessages.ToJson(alert)));
            await alertQueue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
            await webhooks.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }
}
