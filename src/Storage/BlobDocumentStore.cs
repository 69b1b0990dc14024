using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Gateway.Core.Configuration;

namespace Gateway.Storage;

/// <summary>A replacement configuration document, as one blob (e.g. <c>gateway-config/prices.json</c>); its ETag is the document's version.</summary>
public sealed class BlobDocumentStore(BlobClient blob) : IDocumentStore
{
    public async Task<DocumentRead> ReadAsync(string? knownETag, CancellationToken cancellationToken)
    {
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return DocumentRead.Absent;
        }

        if (knownETag is not null && properties.ETag.ToString() == knownETag) return DocumentRead.Unchanged;
        try
        {
            // Download only that version: a write in between fails the condition and is picked up next time.
            var response = await blob.DownloadContentAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
            }, cancellationToken).ConfigureAwait(false);
            return new DocumentRead(DocumentReadStatus.Changed,
                new StoredDocument(response.Value.Content.ToString(), response.Value.Details.ETag.ToString(), response.Value.Details.LastModified));
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return DocumentRead.Unchanged;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return DocumentRead.Absent;
        }
    }

    public async Task<StoredDocument> SaveAsync(string json, DocumentCondition condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await blob.GetParentBlobContainerClient().CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await blob.UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(json)), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = Conditions(condition),
            }, cancellationToken).ConfigureAwait(false);
            return new StoredDocument(json, response.Value.ETag.ToString(), response.Value.LastModified);
        }
        // 412: another version is stored; 409: one is stored where none was expected; 404: none where one was
        catch (RequestFailedException ex) when (ex.Status is 412 or 409 || (ex.Status == 404 && condition.ETag is not null))
        {
            throw Conflict(condition);
        }
    }

    public async Task<bool> DeleteAsync(DocumentCondition condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        if (condition.MustBeAbsent)
        {
            if (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)) throw Conflict(condition);
            return false;
        }

        try
        {
            var response = await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, Conditions(condition), cancellationToken).ConfigureAwait(false);
            if (!response.Value && condition.ETag is not null) throw Conflict(condition);
            return response.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            throw Conflict(condition);
        }
    }

    private static BlobRequestConditions? Conditions(DocumentCondition condition) =>
        condition.MustBeAbsent ? new BlobRequestConditions { IfNoneMatch = ETag.All }
        : condition.ETag is { } etag ? new BlobRequestConditions { IfMatch = new ETag(etag) }
        : null;

    private DocumentConflictException Conflict(DocumentCondition condition) => new(condition.MustBeAbsent
        ? $"A document is stored in '{blob.BlobContainerName}/{blob.Name}' where none was expected."
        : $"The document in '{blob.BlobContainerName}/{blob.Name}' is not the version {condition.ETag}.");
}
