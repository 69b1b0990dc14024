using Gateway.Core.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>
/// Installs a replaced configuration document (pricing catalog, model catalog, safety policies) on this instance — or
/// puts the configured one back when the replacement was deleted — at start and then every <paramref name="interval"/>.
/// </summary>
public sealed partial class DocumentRefresher(DocumentSync sync, TimeSpan interval, TimeProvider time, ILogger<DocumentRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : interval, time);
        do
        {
            try
            {
                var (outcome, errors) = await sync.RefreshAsync(stoppingToken).ConfigureAwait(false);
                if (outcome == DocumentRefreshOutcome.Installed) LogInstalled(sync.Document.What, sync.Document.Describe());
                else if (outcome == DocumentRefreshOutcome.Reverted) LogReverted(sync.Document.What, sync.Document.Describe());
                else if (outcome == DocumentRefreshOutcome.Rejected) LogRejected(sync.Document.What, string.Join("; ", errors));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex, sync.Document.What);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed the stored {What} ({Version}).")]
    private partial void LogInstalled(string what, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "The stored {What} was deleted: the configured one is back in force ({Version}).")]
    private partial void LogReverted(string what, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "The stored {What} is invalid and was not installed; the one in force stays: {Errors}")]
    private partial void LogRejected(string what, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the stored {What}; the one in force stays.")]
    private partial void LogFailed(Exception exception, string what);
}
