using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Gateway.Core.Caching;

namespace Gateway.Storage;

/// <summary>
/// The shared response cache in Azure Blob Storage: one blob per entry in one container, named by the cache key
/// (see <see cref="BlobName"/>), holding <see cref="CachedCompletionCodec"/> bytes, its expiry in the metadata
/// <c>expires</c> (unix milliseconds). An expired blob is a miss and is deleted on the way (best effort); a lifecycle
/// rule on the container deletes what nobody looks up again. The container is created on the first write if missing.
/// </summary>
public sealed class BlobCacheStore(BlobContainerClient container, TimeProvider time) : ICacheStore, ICacheEntryRemoval
{
    public const string ExpiresMetadata = "expires";
    private const int MaxBlobName = 1024;
    private volatile bool _containerReady;

    public BlobContainerClient Container => container;

    /// <summary>
    /// The blob name of a cache key: letters, digits, '.', '_' and '-' as they are, every other byte of its UTF-8 as
    /// '~' and two hex digits (so <c>team:acme|3f…</c> is <c>team~3Aacme~7C3f…</c>): one name per key, never shared by two
    /// scopes, and a team's entries share a prefix. A name too long for Blob Storage is <c>~h~</c> and the key's SHA-256.
    /// </summary>
    public static string BlobName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = new StringBuilder(key.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') name.Append(c);
            else name.Append('~').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return name.Length <= MaxBlobName ? name.ToString() : "~h~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(BlobName(key));
        BlobDownloadResult download;
        try
        {
            download = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        if (!download.Details.Metadata.TryGetValue(ExpiresMetadata, out var text)
            || !long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var expires)
            || expires <= time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            await DeleteExpiredAsync(blob, download.Details.ETag).ConfigureAwait(false);
            return null;
        }

        return CachedCompletionCodec.Decode(download.Content.ToMemory());
    }

    public async ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (ttl <= TimeSpan.Zero) return;
        if (!_containerReady)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _containerReady = true;
        }

        var expires = (time.GetUtcNow() + ttl).ToUnixTimeMilliseconds();
        await container.GetBlobClient(BlobName(key)).UploadAsync(new BinaryData(CachedCompletionCodec.Encode(value)), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            Metadata = new Dictionary<string, string> { [ExpiresMetadata] = expires.ToString(CultureInfo.InvariantCulture) },
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetBlobClient(BlobName(key)).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false; // no container yet: nothing was ever stored
        }
    }

    /// <summary>Deletes the expired version just read; a newer one written meanwhile (another ETag) is left alone.</summary>
    private static async Task DeleteExpiredAsync(BlobClient blob, ETag etag)
    {
        try
        {
            await blob.DeleteIfExistsAsync(conditions: new BlobRequestConditions { IfMatch = etag }).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // best effort: the lifecycle rule removes it later
        }
    }
}
