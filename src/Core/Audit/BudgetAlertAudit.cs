using System.Globalization;
using Gateway.Core.Budgets;

namespace Gateway.Core.Audit;

/// <summary>Records each budget alert as a <c>budget.alert</c> audit event (the alert's id is the idempotency key) and passes it on.</summary>
public sealed class BudgetAlertAudit(IBudgetAlertSink inner, IAuditSink audit) : IBudgetAlertSink
{
    public Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        foreach (var alert in alerts)
        {
            audit.Record(new AuditEvent
            {
                Id = "budget-alert:" + alert.Id,
                At = alert.RaisedAt,
                Type = AuditEventTypes.BudgetAlert,
                Actor = "gateway",
                Scope = alert.Scope.ToString(),
                Target = "budget:" + alert.Scope,
                Details = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["threshold"] = alert.Threshold.ToString(CultureInfo.InvariantCulture),
                    ["spent_usd"] = alert.SpentUsd.ToString(CultureInfo.InvariantCulture),
                    ["limit_usd"] = alert.LimitUsd.ToString(CultureInfo.InvariantCulture),
                    ["period_start"] = alert.PeriodStart.ToString("O", CultureInfo.InvariantCulture),
                },
            });
        }

        return inner.PublishAsync(alerts, cancellationToken);
    }
}
