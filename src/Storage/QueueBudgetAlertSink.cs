using Azure.Storage.Queues;
using Gateway.Core.Budgets;

namespace Gateway.Storage;

/// <summary>Puts each budget alert on the alert queue and the webhook delivery queue (<see cref="AlertQueues"/>).</summary>
public sealed class QueueBudgetAlertSink(QueueClient alertQueue, QueueClient webhooks) : IBudgetAlertSink
{
    private readonly AlertQueues _queues = new(alertQueue, webhooks);

    public async Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
    {
        foreach (var alert in alerts) await _queues.SendAsync(BudgetAlertMessages.ToJson(alert), cancellationToken).ConfigureAwait(false);
    }
}
