using Azure.Storage.Queues;
using Gateway.Core.Analytics;

namespace Gateway.Storage;

/// <summary>
/// Puts analytics alerts (anomalies, budget forecast overruns) on the same two queues as budget alerts, so they reach
/// the same consumers and the same signed webhook (<see cref="AlertQueues"/>); their <c>type</c> tells them apart.
/// </summary>
public sealed class QueueAnalyticsAlertSink(QueueClient alertQueue, QueueClient webhooks) : IAnalyticsAlertSink
{
    private readonly AlertQueues _queues = new(alertQueue, webhooks);

    public async Task PublishAsync(IReadOnlyList<AnalyticsAlert> alerts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        foreach (var alert in alerts) await _queues.SendAsync(alert.Json, cancellationToken).ConfigureAwait(false);
    }
}
