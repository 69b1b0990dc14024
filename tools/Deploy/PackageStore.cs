using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Gateway.Deploy;

/// <summary>
/// The deployment container of a Flex Consumption app. The platform runs <c>released-package.zip</c> (the blob its own
/// deployment writes, and reads when an instance starts); every package deployed is also kept as
/// <c>packages/&lt;yyyyMMddTHHmmssZ&gt;-&lt;git sha&gt;.zip</c>, so names sort by time. The released blob's metadata
/// <c>package</c> names the kept package it is a copy of, which is how a rollback knows what runs now.
/// </summary>
public sealed class PackageStore(BlobContainerClient container)
{
    public const string ReleasedBlob = "released-package.zip";
    public const string Prefix = "packages/";
    public const string PackageMetadata = "package";

    /// <summary>The package name for a deployment at <paramref name="at"/> of commit <paramref name="sha"/>.</summary>
    public static string PackageName(DateTimeOffset at, string sha) =>
        at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + sha + ".zip";

    /// <summary>The kept packages, oldest first (without the prefix).</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Prefix, cancellationToken).ConfigureAwait(false))
            if (blob.Name.EndsWith(".zip", StringComparison.Ordinal)) names.Add(blob.Name[Prefix.Length..]);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>The kept package the released blob is a copy of; null when nothing was released by this tool.</summary>
    public async Task<string?> CurrentAsync(CancellationToken cancellationToken)
    {
        try
        {
            var properties = await container.GetBlobClient(ReleasedBlob).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return properties.Value.Metadata.TryGetValue(PackageMetadata, out var name) ? name : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Keeps <paramref name="zip"/> as package <paramref name="name"/>; fails if that name exists.</summary>
    public async Task<long> UploadAsync(string name, string zip, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(zip);
        await container.GetBlobClient(Prefix + name).UploadAsync(file, new BlobUploadOptions
        {
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/zip" },
        }, cancellationToken).ConfigureAwait(false);
        return file.Length;
    }

    /// <summary>Copies kept package <paramref name="name"/> to the released blob (the one the app runs).</summary>
    public async Task ReleaseAsync(string name, CancellationToken cancellationToken)
    {
        var source = container.GetBlobClient(Prefix + name);
        var content = await source.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        await container.GetBlobClient(ReleasedBlob).UploadAsync(content.Value.Content, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/zip" },
            Metadata = new Dictionary<string, string> { [PackageMetadata] = name },
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> packages, never the one released. Returns the deleted names.</summary>
    public async Task<IReadOnlyList<string>> PruneAsync(int keep, CancellationToken cancellationToken)
    {
        var names = await ListAsync(cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        var deleted = new List<string>();
        foreach (var name in names.Take(Math.Max(0, names.Count - keep)))
        {
            if (name == current) continue;
            await container.GetBlobClient(Prefix + name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            deleted.Add(name);
        }

        return deleted;
    }
}
