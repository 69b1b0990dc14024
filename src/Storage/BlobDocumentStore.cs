using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Gateway.Core.Configuration;

namespace Gateway.Storage;

/// <summary>A replacement configuration document, as one blob (e.g. <c>gateway-config/prices.json</c>).</summary>
public sealed class BlobDocumentStore(BlobClient blob) : IDocumentStore
{
    public async Task<StoredDocument?> ReadIfChangedAsync(string? knownETag, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (knownETag is not null && properties.Value.ETag.ToString() == knownETag) return null;
            // Download only that version: a write in between fails the condition and is picked up next time.
            var response = await blob.DownloadContentAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = properties.Value.ETag },
            }, cancellationToken).ConfigureAwait(false);
            return new StoredDocument(response.Value.Content.ToString(), response.Value.Details.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
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
