using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Gateway.Core.Analytics;

namespace Gateway.Storage;

/// <summary>Analytics snapshots as blobs, <c>snapshots/yyyy-MM-dd.json</c> in one container; a day's write replaces it.</summary>
public sealed class BlobAnalyticsSnapshotStore(BlobContainerClient container) : IAnalyticsSnapshotStore
{
    private int _created;

    private BlobClient Blob(DateOnly date) => container.GetBlobClient(string.Create(CultureInfo.InvariantCulture, $"snapshots/{date:yyyy-MM-dd}.json"));

    public async Task<string?> ReadAsync(DateOnly date, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Blob(date).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return response.Value.Content.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteAsync(DateOnly date, string json, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        await Blob(date).UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(json)), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken).ConfigureAwait(false);
    }
}
