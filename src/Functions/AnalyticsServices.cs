using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Functions.Budgets;
using Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions;

/// <summary>Wires the analytics engine to its storage: rollups in, snapshots to a blob container, alerts to the budget alerts' queues.</summary>
public static class AnalyticsServices
{
    /// <summary>The ids of analytics alerts already sent (<see cref="TableAlertLedger"/>).</summary>
    public const string AlertsTable = "analyticsalerts";

    public static IServiceCollection AddAnalytics(this IServiceCollection services, GatewayOptions options, Core.Hosting.GatewayFeatures? features = null)
    {
        var budgets = (features ?? Core.Hosting.GatewayFeatures.All).Budgets;
        ArgumentNullException.ThrowIfNull(options);
        StartupSettings.Demand("analytics", options.Analytics.Validate());
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<StorageConnection>();
            var time = sp.GetRequiredService<TimeProvider>();
            var analytics = new SpendAnalytics(sp.GetRequiredService<UsageServices>().Rollups, budgets ? new EntityBudgetSource(sp.GetRequiredService<BudgetGate>()) : NoBudgetSource.Instance, time, options.Analytics);
            return new AnalyticsSnapshotService(analytics,
                new BlobAnalyticsSnapshotStore(storage.BlobContainer(options.Analytics.SnapshotContainer)),
                new QueueAnalyticsAlertSink(storage.Queue(BudgetAlertFunctions.AlertQueue), storage.Queue(BudgetAlertFunctions.WebhookQueue)),
                new TableAlertLedger(storage.Table(AlertsTable), time),
                time);
        });
        return services;
    }
}
