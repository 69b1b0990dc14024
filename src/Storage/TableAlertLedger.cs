using Azure.Data.Tables;
using Gateway.Core.Analytics;

namespace Gateway.Storage;

/// <summary>
/// The ids of analytics alerts already sent (Table Storage: partition <c>sent</c>, row = the alert id, which
/// <see cref="AnalyticsAlerts"/> keeps to letters, digits and dashes). One point read per alert a snapshot raises.
/// </summary>
public sealed class TableAlertLedger(TableClient table, TimeProvider time) : IAlertLedger
{
    private const string Partition = "sent";
    private readonly LazyTable _table = new(table);

    public async Task<bool> ContainsAsync(string id, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        var found = await client.GetEntityIfExistsAsync<TableEntity>(Partition, id, ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        return found.HasValue;
    }

    public async Task AddAsync(string id, CancellationToken cancellationToken)
    {
        var client = await _table.GetAsync(cancellationToken).ConfigureAwait(false);
        await client.UpsertEntityAsync(new TableEntity(Partition, id) { ["SentAt"] = time.GetUtcNow() }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }
}
