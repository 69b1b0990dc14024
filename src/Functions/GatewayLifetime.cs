using Gateway.Core.Budgets;
using Gateway.Core.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>
/// At shutdown (a restart, a scale-in, a deployment): lets after-response work finish, reports and returns every
/// budget lease, and sends the usage records still in memory — so what was accepted before the shutdown is neither lost
/// nor left unreported. Bounded by the host's shutdown timeout.
/// </summary>
public sealed partial class GatewayLifetime(AfterResponseWork afterResponse, BudgetGate budgets, UsageServices usage, AuditServices audit, ILogger<GatewayLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await afterResponse.DrainAsync(cancellationToken).ConfigureAwait(false);
        // the host gives the worker only moments: both at once
        await Task.WhenAll(FlushBudgetsAsync(cancellationToken), FlushUsageAsync(cancellationToken), FlushAuditAsync(cancellationToken)).ConfigureAwait(false);
    }

    private async Task FlushBudgetsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await budgets.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogBudgetsNotFlushed(ex);
        }
    }

    private async Task FlushUsageAsync(CancellationToken cancellationToken)
    {
        try
        {
            await usage.Batcher.StopAsync(cancellationToken).ConfigureAwait(false);
            LogFlushed();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogUsageNotFlushed(ex, usage.Batcher.Spooled);
        }
    }

    private async Task FlushAuditAsync(CancellationToken cancellationToken)
    {
        try
        {
            await audit.Batcher.StopAsync(cancellationToken).ConfigureAwait(false);
            await usage.ContentBatcher.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogAuditNotFlushed(ex, audit.Batcher.Spooled + usage.ContentBatcher.Spooled);
        }
    }

    [LoggerMessage(1104, LogLevel.Error, "Shutdown: {Count} audit events or logged contents could not be written and are lost.")]
    private partial void LogAuditNotFlushed(Exception exception, int count);

    [LoggerMessage(1101, LogLevel.Information, "Shutdown: usage records and budget spend flushed.")]
    private partial void LogFlushed();

    [LoggerMessage(1102, LogLevel.Error, "Shutdown: the budgets could not be reached; spend under this instance's leases since its last report is not counted.")]
    private partial void LogBudgetsNotFlushed(Exception exception);

    [LoggerMessage(1103, LogLevel.Error, "Shutdown: {Count} usage records could not be sent to the usage queue and are lost.")]
    private partial void LogUsageNotFlushed(Exception exception, int count);
}
