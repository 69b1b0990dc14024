using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Gateway.Core.Pricing;

namespace Gateway.Storage;

/// <summary>The replacement pricing catalog, as one blob (e.g. <c>gateway-config/prices.json</c>).</summary>
public sealed class BlobPriceCatalogStore(BlobClient blob) : IPriceCatalogStore
{
    public async Task<StoredCatalog?> ReadIfChangedAsync(string? knownETag, CancellationToken cancellationToken)
    {
        try
        {
            var conditions = knownETag is null ? null : new BlobRequestConditions { IfNoneMatch = new ETag(knownETag) };
            var response = await blob.DownloadContentAsync(new BlobDownloadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
            return new StoredCatalog(response.Value.Content.ToString(), response.Value.Details.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status is 304 or 404 || ex.ErrorCode is "ContainerNotFound" or "BlobNotFound")
        {
            return null;
        }
    }

    public async Task<string> SaveAsync(string json, CancellationToken cancellationToken)
    {
        await blob.GetParentBlobContainerClient().CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var response = await blob.UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(json)), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken).ConfigureAwait(false);
        return response.Value.ETag.ToString();
    }
}
