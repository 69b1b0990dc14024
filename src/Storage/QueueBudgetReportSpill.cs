using System.Text;
using Azure.Storage.Queues;
using Gateway.Core.Budgets;

namespace Gateway.Storage;

/// <summary>Spills budget reports to a queue (base64 JSON, the queue trigger's encoding), at most 64 KiB a message.</summary>
public sealed class QueueBudgetReportSpill(QueueClient queue) : IBudgetReportSpill
{
    public async Task SpillAsync(IReadOnlyList<SpilledBudgetCommand> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return;
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var chunk in commands.Chunk(50))
        {
            await queue.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(BudgetReportCodec.Encode(chunk))), cancellationToken).ConfigureAwait(false);
        }
    }
}
