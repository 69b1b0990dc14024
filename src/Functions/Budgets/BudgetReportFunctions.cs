using Gateway.Core.Budgets;
using Gateway.Functions.Entities;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gateway.Functions.Budgets;

/// <summary>
/// Sends budget reports an instance spilled to the <c>budget-reports</c> queue (at shutdown the host stops its Durable
/// endpoint before the worker flushes) on to the budgets. Reports are cumulative per lease or ledger, so a redelivered
/// message counts nothing twice; one that cannot be read goes to <c>budget-reports-poison</c> after five tries.
/// </summary>
public sealed class BudgetReportFunctions(BudgetGate budgets, DurableEntityChannel entities)
{
    public const string Queue = "budget-reports";

    [Function("ApplyBudgetReports")]
    public async Task Apply([QueueTrigger(Queue, Connection = "AzureWebJobsStorage")] string message, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        entities.Attach(client);
        await budgets.ApplySpilledAsync(BudgetReportCodec.Decode(message), cancellationToken).ConfigureAwait(false);
    }
}
