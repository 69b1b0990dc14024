using System.Net.Http;
using System.Net.Sockets;
using Azure;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Gateway.Core.Health;

namespace Gateway.Storage;

/// <summary>
/// The readiness checks of the app's storage connection: one cheap call each to Table, Queue and Blob storage, on a
/// table, queue and container the app uses (so the app's identity is allowed them), without retries — the next probe is
/// the retry. A resource not created yet still shows the service reachable. Details never carry the account, an address
/// or a key: an Azure SDK message can hold all three, so only the status and the service's error code are shown.
/// </summary>
public static class StorageHealthChecks
{
    public const string TableCheck = "table";
    public const string QueueCheck = "queue";
    public const string BlobCheck = "blob";

    /// <summary>Checks of <paramref name="table"/>, <paramref name="queue"/> and <paramref name="blobContainer"/>, each call bounded by <paramref name="timeout"/>.</summary>
    public static IReadOnlyList<IHealthCheck> Create(StorageConnection storage, string table, string queue, string blobContainer, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var tableOptions = new TableClientOptions();
        var queueOptions = new QueueClientOptions();
        var blobOptions = new BlobClientOptions();
        foreach (var retry in new[] { tableOptions.Retry, queueOptions.Retry, blobOptions.Retry })
        {
            retry.MaxRetries = 0;
            retry.NetworkTimeout = timeout;
        }

        return
        [
            new Check(TableCheck, async ct =>
            {
                var client = storage.Table(table, tableOptions);
                // one page of at most one row's key from a partition no row uses: the service answers, nothing is read
                await foreach (var _ in client.QueryAsync<TableEntity>("PartitionKey eq 'health-probe'", maxPerPage: 1, select: ["PartitionKey"],
                    cancellationToken: ct).AsPages().ConfigureAwait(false))
                    break;
                return "reachable";
            }),
            new Check(QueueCheck, async ct =>
            {
                await storage.Queue(queue, queueOptions).GetPropertiesAsync(ct).ConfigureAwait(false);
                return "reachable";
            }),
            new Check(BlobCheck, async ct =>
                (await storage.BlobContainer(blobContainer, blobOptions).ExistsAsync(ct).ConfigureAwait(false)).Value
                    ? "reachable"
                    : "reachable; container not created yet"),
        ];
    }

    /// <summary>A failure as a detail that names no account, address or key.</summary>
    internal static HealthProbe Describe(Exception exception) => exception switch
    {
        RequestFailedException { Status: 404 } => HealthProbe.Healthy("reachable; not created yet"),
        RequestFailedException { Status: > 0 } failed => HealthProbe.Unhealthy(
            $"answered {failed.Status}{(string.IsNullOrEmpty(failed.ErrorCode) ? "" : " " + failed.ErrorCode)}"),
        AuthenticationFailedException or CredentialUnavailableException => HealthProbe.Unhealthy("no token for the app's identity"),
        OperationCanceledException => HealthProbe.Unhealthy("no answer within the network timeout"),
        _ when Find<SocketException>(exception) is { } socket => HealthProbe.Unhealthy($"unreachable ({socket.SocketErrorCode})"),
        _ when Find<HttpRequestException>(exception) is { } http => HealthProbe.Unhealthy($"unreachable ({http.HttpRequestError})"),
        _ => HealthProbe.Unhealthy("failed: " + exception.GetType().Name),
    };

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found) return found;
        }

        return null;
    }

    private sealed class Check(string name, Func<CancellationToken, Task<string>> probe) : IHealthCheck
    {
        public string Name => name;

        public async Task<HealthProbe> CheckAsync(CancellationToken cancellationToken)
        {
            try
            {
                return HealthProbe.Healthy(await probe(cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return Describe(ex);
            }
        }
    }
}
