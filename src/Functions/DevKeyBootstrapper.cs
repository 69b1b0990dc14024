using Gateway.Core.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>Creates the local development key (setting Gateway:DevKey) at startup, if one is configured.</summary>
public sealed partial class DevKeyBootstrapper(GatewayRuntime runtime, ILogger<DevKeyBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var devKey = runtime.Options.DevKey;
        if (string.IsNullOrEmpty(devKey)) return;
        try
        {
            if (await runtime.Keys.EnsureKeyAsync(devKey, "local development key", cancellationToken).ConfigureAwait(false))
                Log.DevKeyCreated(logger);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DevKeyFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Information, "Created the local development gateway key (setting Gateway:DevKey).")]
        public static partial void DevKeyCreated(ILogger logger);

        [LoggerMessage(1002, LogLevel.Warning, "Could not create the local development gateway key; is storage (Azurite) running?")]
        public static partial void DevKeyFailed(ILogger logger, Exception exception);
    }
}
