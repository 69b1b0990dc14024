namespace Gateway.Core.Configuration;

/// <summary>A configuration document as stored, with its version tag (ETag).</summary>
public sealed record StoredDocument(string Json, string ETag);

/// <summary>Where a replacement configuration document is kept, shared by every instance (a blob in the Functions app).</summary>
public interface IDocumentStore
{
    /// <summary>The stored document, or null when none is stored or it is unchanged since <paramref name="knownETag"/>.</summary>
    Task<StoredDocument?> ReadIfChangedAsync(string? knownETag, CancellationToken cancellationToken);

    Task<string> SaveAsync(string json, CancellationToken cancellationToken);
}

/// <summary>A document was refused; <see cref="Errors"/> lists every problem, and what is in force stays.</summary>
public class DocumentRejectedException(string what, IReadOnlyList<string> errors)
    : Exception($"The {what} is invalid: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Configuration an instance holds in memory and can replace at runtime (the pricing catalog, the safety policies).</summary>
public interface IReplaceableDocument
{
    /// <summary>What the document is, for logs ("pricing catalog").</summary>
    string What { get; }

    /// <summary>The JSON of the document in force; null while the built-in or configured one is.</summary>
    string? CurrentJson { get; }

    /// <summary>A description of the document in force (e.g. its version), for logs.</summary>
    string Describe();

    /// <summary>Validates <paramref name="json"/> without installing it; throws <see cref="DocumentRejectedException"/> listing every problem.</summary>
    void Validate(string json);

    /// <summary>Validates and installs <paramref name="json"/>; on <see cref="DocumentRejectedException"/> nothing changes.</summary>
    void Install(string json);
}

/// <summary>What a refresh did.</summary>
public enum DocumentRefreshOutcome
{
    Unchanged,
    Installed,
    /// <summary>The stored document is invalid; the one in force stays.</summary>
    Rejected,
}

/// <summary>
/// Keeps an instance's copy of a replaceable document in step with the shared store: a replacement saved by any
/// instance (admin API) or uploaded to the blob directly is installed by every instance at its next refresh; an invalid
/// document is refused and the one in force stays. <see cref="ReplaceAsync"/> validates before anything is stored.
/// </summary>
public sealed class DocumentSync(IReplaceableDocument document, IDocumentStore store)
{
    private string? _etag;

    public IReplaceableDocument Document => document;

    public async Task<(DocumentRefreshOutcome Outcome, IReadOnlyList<string> Errors)> RefreshAsync(CancellationToken cancellationToken)
    {
        var stored = await store.ReadIfChangedAsync(_etag, cancellationToken).ConfigureAwait(false);
        if (stored is null) return (DocumentRefreshOutcome.Unchanged, []);
        _etag = stored.ETag;
        if (stored.Json == document.CurrentJson) return (DocumentRefreshOutcome.Unchanged, []);
        try
        {
            document.Install(stored.Json);
            return (DocumentRefreshOutcome.Installed, []);
        }
        catch (DocumentRejectedException ex)
        {
            return (DocumentRefreshOutcome.Rejected, ex.Errors);
        }
    }

    /// <summary>Validates, stores for every instance, then installs here. Throws <see cref="DocumentRejectedException"/> when invalid (nothing changes).</summary>
    public async Task ReplaceAsync(string json, CancellationToken cancellationToken)
    {
        document.Validate(json);
        _etag = await store.SaveAsync(json, cancellationToken).ConfigureAwait(false);
        document.Install(json);
    }
}

/// <summary>The admin API's side of a replaceable document: decode the uploaded body, replace, and answer a refusal with 400 listing the problems.</summary>
public static class DocumentUploads
{
    /// <summary>Decodes <paramref name="body"/> as UTF-8 and replaces the document; a refusal becomes 400 <paramref name="code"/> naming every problem (the first 50).</summary>
    public static async Task ReplaceAsync(DocumentSync sync, byte[] body, string param, string code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sync);
        string json;
        try
        {
            json = new System.Text.UTF8Encoding(false, true).GetString(body);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw Errors.Errors.InvalidRequest($"The {sync.Document.What} must be UTF-8 JSON.", param, code);
        }

        try
        {
            await sync.ReplaceAsync(json, cancellationToken).ConfigureAwait(false);
        }
        catch (DocumentRejectedException ex)
        {
            var shown = ex.Errors.Take(50).ToList();
            var more = ex.Errors.Count > shown.Count ? $" (and {ex.Errors.Count - shown.Count} more)" : "";
            throw Errors.Errors.InvalidRequest(
                $"The {sync.Document.What} was rejected; the one in force is unchanged. " + string.Join("; ", shown) + more, param, code);
        }
    }
}
