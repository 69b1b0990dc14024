using Gateway.Core.Analytics;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Reports;
using Gateway.Core.Savings;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions;

/// <summary>Wires the executive summary to the usage stores, the analytics snapshots and the savings engine (priced with the catalog in force).</summary>
public static class ReportServices
{
    public static IServiceCollection AddReports(this IServiceCollection services, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(sp =>
        {
            var usage = sp.GetRequiredService<UsageServices>();
            var runtime = sp.GetRequiredService<GatewayRuntime>();
            return new ExecutiveSummaryService(usage.Rollups, usage.Records, sp.GetRequiredService<AnalyticsSnapshotService>(),
                () => new SavingsEngine(runtime.Prices.Current, runtime.Catalog, options.Savings), options.Analytics, options.Savings, sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }
}
