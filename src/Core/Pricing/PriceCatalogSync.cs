namespace Gateway.Core.Pricing;

/// <summary>A pricing catalog document as stored, with its version tag (ETag).</summary>
public sealed record StoredCatalog(string Json, string ETag);

/// <summary>Where a replacement pricing catalog is kept, shared by every instance (a blob in the Functions app).</summary>
public interface IPriceCatalogStore
{
    /// <summary>The stored document, or null when none is stored or it is unchanged since <paramref name="knownETag"/>.</summary>
    Task<StoredCatalog?> ReadIfChangedAsync(string? knownETag, CancellationToken cancellationToken);

    Task<string> SaveAsync(string json, CancellationToken cancellationToken);
}

/// <summary>What a refresh did.</summary>
public enum CatalogRefreshOutcome
{
    Unchanged,
    Installed,
    /// <summary>The stored document is invalid; the catalog in force stays.</summary>
    Rejected,
}

/// <summary>
/// Keeps an instance's pricing catalog in step with the shared store: a replacement saved by any instance (admin API)
/// or uploaded to the blob directly is installed by every instance at its next refresh; an invalid document is refused
/// and the catalog in force stays. Replacing through <see cref="ReplaceAsync"/> validates before anything is stored.
/// </summary>
public sealed class PriceCatalogSync(PriceCatalogHolder holder, IPriceCatalogStore store)
{
    private string? _etag;

    public PriceCatalogHolder Holder => holder;

    public async Task<(CatalogRefreshOutcome Outcome, IReadOnlyList<string> Errors)> RefreshAsync(CancellationToken cancellationToken)
    {
        var stored = await store.ReadIfChangedAsync(_etag, cancellationToken).ConfigureAwait(false);
        if (stored is null) return (CatalogRefreshOutcome.Unchanged, []);
        _etag = stored.ETag;
        if (stored.Json == holder.Current.Json) return (CatalogRefreshOutcome.Unchanged, []);
        try
        {
            holder.Replace(stored.Json);
            return (CatalogRefreshOutcome.Installed, []);
        }
        catch (PriceCatalogException ex)
        {
            return (CatalogRefreshOutcome.Rejected, ex.Errors);
        }
    }

    /// <summary>Validates, stores for every instance, then installs here. Throws <see cref="PriceCatalogException"/> when invalid (nothing changes).</summary>
    public async Task<PriceCatalog> ReplaceAsync(string json, CancellationToken cancellationToken)
    {
        var catalog = PriceCatalog.Parse(json);
        _etag = await store.SaveAsync(json, cancellationToken).ConfigureAwait(false);
        holder.Replace(json);
        return catalog;
    }
}
