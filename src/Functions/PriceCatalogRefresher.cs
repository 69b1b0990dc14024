using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>Installs a replaced pricing catalog on this instance: at start and then every <c>Gateway:Pricing:CatalogRefreshSeconds</c>.</summary>
public sealed partial class PriceCatalogRefresher(PriceCatalogSync sync, GatewayOptions options, TimeProvider time, ILogger<PriceCatalogRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Pricing.CatalogRefreshSeconds)), time);
        do
        {
            try
            {
                var (outcome, errors) = await sync.RefreshAsync(stoppingToken).ConfigureAwait(false);
                if (outcome == CatalogRefreshOutcome.Installed) LogInstalled(sync.Holder.Current.Version);
                else if (outcome == CatalogRefreshOutcome.Rejected) LogRejected(string.Join("; ", errors));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed pricing catalog {Version}.")]
    private partial void LogInstalled(string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "The stored pricing catalog is invalid and was not installed; the catalog in force stays: {Errors}")]
    private partial void LogRejected(string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the stored pricing catalog; the catalog in force stays.")]
    private partial void LogFailed(Exception exception);
}
