namespace Gateway.Core.Configuration;

/// <summary>A configuration document as stored, with its version tag (ETag) and, when the store says, when it was stored.</summary>
public sealed record StoredDocument(string Json, string ETag, DateTimeOffset? StoredAt = null);

/// <summary>The stored version a write or a delete expects to find (optimistic concurrency).</summary>
public sealed record DocumentCondition
{
    private DocumentCondition(string? eTag, bool mustBeAbsent)
    {
        ETag = eTag;
        MustBeAbsent = mustBeAbsent;
    }

    /// <summary>The version that must be stored; null when any will do, or none must be.</summary>
    public string? ETag { get; }

    /// <summary>No document may be stored (the configured one is in force).</summary>
    public bool MustBeAbsent { get; }

    /// <summary>Whatever is stored (a blind write).</summary>
    public static DocumentCondition Any { get; } = new(null, false);

    /// <summary>Nothing may be stored yet.</summary>
    public static DocumentCondition Absent { get; } = new(null, true);

    /// <summary>The stored version must be <paramref name="eTag"/>.</summary>
    public static DocumentCondition Matches(string eTag) => new(eTag ?? throw new ArgumentNullException(nameof(eTag)), false);
}

/// <summary>What a read of the shared store found.</summary>
public enum DocumentReadStatus
{
    /// <summary>The version already known.</summary>
    Unchanged,
    /// <summary>Another version (in <see cref="DocumentRead.Document"/>).</summary>
    Changed,
    /// <summary>No document is stored.</summary>
    Absent,
}

/// <summary>A read of the shared store: its status and, when changed, the document.</summary>
public sealed record DocumentRead(DocumentReadStatus Status, StoredDocument? Document = null)
{
    public static DocumentRead Unchanged { get; } = new(DocumentReadStatus.Unchanged);
    public static DocumentRead Absent { get; } = new(DocumentReadStatus.Absent);
}

/// <summary>Where a replacement configuration document is kept, shared by every instance (a blob in the Functions app).</summary>
public interface IDocumentStore
{
    /// <summary>The stored document, unless it is the version <paramref name="knownETag"/> (unchanged) or none is stored (absent).</summary>
    Task<DocumentRead> ReadAsync(string? knownETag, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="json"/> when <paramref name="condition"/> holds; throws <see cref="DocumentConflictException"/> when it does not.</summary>
    Task<StoredDocument> SaveAsync(string json, DocumentCondition condition, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the stored document when <paramref name="condition"/> holds (false: none was stored); throws
    /// <see cref="DocumentConflictException"/> when it does not.
    /// </summary>
    Task<bool> DeleteAsync(DocumentCondition condition, CancellationToken cancellationToken);
}

/// <summary>The stored document is not the version a write or delete expected: someone else changed it first.</summary>
public sealed class DocumentConflictException(string message) : Exception(message);

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

/// <summary>
/// A replaceable document that knows which stored version is in force and can go back to the configured one when the
/// stored document is deleted (the model catalog).
/// </summary>
public interface IVersionedDocument : IReplaceableDocument
{
    /// <summary>The ETag of the stored version in force; null while the configured one is.</summary>
    string? StoredETag { get; }

    /// <summary>Validates and installs a stored version; on <see cref="DocumentRejectedException"/> nothing changes.</summary>
    void Install(StoredDocument stored);

    /// <summary>Checks that the configured version may be put back now; throws <see cref="DocumentRejectedException"/> when not.</summary>
    void ValidateConfigured();

    /// <summary>Puts the configured version back (checked as by <see cref="ValidateConfigured"/>; nothing changes when it fails).</summary>
    void Revert();
}

/// <summary>What a refresh did.</summary>
public enum DocumentRefreshOutcome
{
    Unchanged,
    Installed,
    /// <summary>The stored document is invalid; the one in force stays.</summary>
    Rejected,
    /// <summary>The stored document was deleted; the configured one is back in force.</summary>
    Reverted,
}

/// <summary>
/// Keeps an instance's copy of a replaceable document in step with the shared store: a replacement saved by any
/// instance (admin API) or uploaded to the blob directly is installed by every instance at its next refresh; an invalid
/// document is refused and the one in force stays. <see cref="ReplaceAsync(string, DocumentCondition, CancellationToken)"/>
/// validates before anything is stored. A refused version is tried again at each refresh, quietly: it may become valid
/// when another document changes (a model catalog waiting for the prices of its new deployments). For an
/// <see cref="IVersionedDocument"/>, a deleted document puts the configured one back.
/// </summary>
public sealed class DocumentSync(IReplaceableDocument document, IDocumentStore store) : IDisposable
{
    // one refresh, replacement or revert at a time on this instance: a refresh that read an older version cannot
    // install it over a replacement made in the meantime
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _etag;
    private StoredDocument? _refused;

    public IReplaceableDocument Document => document;

    public async Task<(DocumentRefreshOutcome Outcome, IReadOnlyList<string> Errors)> RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var read = await store.ReadAsync(_etag, cancellationToken).ConfigureAwait(false);
            switch (read.Status)
            {
                case DocumentReadStatus.Absent:
                    _etag = null;
                    _refused = null;
                    if (document is not IVersionedDocument { StoredETag: not null } versioned) return (DocumentRefreshOutcome.Unchanged, []);
                    try
                    {
                        versioned.Revert();
                        return (DocumentRefreshOutcome.Reverted, []);
                    }
                    catch (DocumentRejectedException ex)
                    {
                        return (DocumentRefreshOutcome.Rejected, ex.Errors);
                    }

                case DocumentReadStatus.Unchanged:
                    if (_refused is null) return (DocumentRefreshOutcome.Unchanged, []);
                    try
                    {
                        Install(_refused);
                        _refused = null;
                        return (DocumentRefreshOutcome.Installed, []);
                    }
                    catch (DocumentRejectedException)
                    {
                        // still refused, for the reasons already logged
                        return (DocumentRefreshOutcome.Unchanged, []);
                    }

                default:
                    var stored = read.Document ?? throw new InvalidOperationException("A changed read carries its document.");
                    _etag = stored.ETag;
                    _refused = null;
                    if (InForce(stored)) return (DocumentRefreshOutcome.Unchanged, []);
                    try
                    {
                        Install(stored);
                        return (DocumentRefreshOutcome.Installed, []);
                    }
                    catch (DocumentRejectedException ex)
                    {
                        _refused = stored;
                        return (DocumentRefreshOutcome.Rejected, ex.Errors);
                    }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Validates, stores for every instance (whatever was stored), then installs here. Throws <see cref="DocumentRejectedException"/> when invalid (nothing changes).</summary>
    public Task<StoredDocument> ReplaceAsync(string json, CancellationToken cancellationToken) => ReplaceAsync(json, DocumentCondition.Any, cancellationToken);

    /// <summary>
    /// Validates, stores for every instance when <paramref name="condition"/> holds, then installs here. Throws
    /// <see cref="DocumentRejectedException"/> when invalid and <see cref="DocumentConflictException"/> when the stored
    /// version is not the one expected; either way nothing changes.
    /// </summary>
    public async Task<StoredDocument> ReplaceAsync(string json, DocumentCondition condition, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            document.Validate(json);
            var stored = await store.SaveAsync(json, condition, cancellationToken).ConfigureAwait(false);
            _etag = stored.ETag;
            _refused = null;
            try
            {
                Install(stored);
            }
            catch (DocumentRejectedException)
            {
                // what it depends on changed between the check and the install: it is stored, and installed once valid
                _refused = stored;
                throw;
            }

            return stored;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Deletes the stored document when <paramref name="condition"/> holds and puts the configured version back here
    /// (every other instance at its next refresh). Throws <see cref="DocumentRejectedException"/> when the configured
    /// version may not be put back and <see cref="DocumentConflictException"/> when the stored version is not the one
    /// expected; either way nothing changes.
    /// </summary>
    public async Task RevertAsync(DocumentCondition condition, CancellationToken cancellationToken)
    {
        if (document is not IVersionedDocument versioned) throw new NotSupportedException($"The {document.What} has no configured version to go back to.");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            versioned.ValidateConfigured();
            await store.DeleteAsync(condition, cancellationToken).ConfigureAwait(false);
            _etag = null;
            _refused = null;
            if (versioned.StoredETag is not null) versioned.Revert();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private bool InForce(StoredDocument stored) =>
        document is IVersionedDocument versioned ? versioned.StoredETag == stored.ETag : stored.Json == document.CurrentJson;

    private void Install(StoredDocument stored)
    {
        if (document is IVersionedDocument versioned) versioned.Install(stored);
        else document.Install(stored.Json);
    }
}

/// <summary>The admin API's side of a replaceable document: decode the uploaded body, replace, and answer a refusal with 400 listing the problems.</summary>
public static class DocumentUploads
{
    /// <summary>Decodes <paramref name="body"/> as UTF-8 and replaces the document; a refusal becomes 400 <paramref name="code"/> naming every problem (the first 50).</summary>
    public static Task ReplaceAsync(DocumentSync sync, byte[] body, string param, string code, CancellationToken cancellationToken) =>
        ReplaceAsync(sync, body, param, code, DocumentCondition.Any, cancellationToken);

    /// <summary>
    /// As <see cref="ReplaceAsync(DocumentSync, byte[], string, string, CancellationToken)"/>, stored only when
    /// <paramref name="condition"/> holds (else <see cref="DocumentConflictException"/>); the refusal's body also lists
    /// every problem in <c>innererror.errors</c>.
    /// </summary>
    public static async Task<StoredDocument> ReplaceAsync(DocumentSync sync, byte[] body, string param, string code, DocumentCondition condition, CancellationToken cancellationToken)
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
            return await sync.ReplaceAsync(json, condition, cancellationToken).ConfigureAwait(false);
        }
        catch (DocumentRejectedException ex)
        {
            throw Rejected(sync.Document.What, ex.Errors, param, code);
        }
    }

    /// <summary>400 <paramref name="code"/>: the message names the first 50 problems, <c>innererror.errors</c> lists up to 500.</summary>
    public static Errors.GatewayException Rejected(string what, IReadOnlyList<string> errors, string param, string code)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var shown = errors.Take(50).ToList();
        var more = errors.Count > shown.Count ? $" (and {errors.Count - shown.Count} more)" : "";
        var error = Errors.Errors.InvalidRequest($"The {what} was rejected; the one in force is unchanged. " + string.Join("; ", shown) + more, param, code).Error;
        return new Errors.GatewayException(error with
        {
            InnerError = new System.Text.Json.Nodes.JsonObject
            {
                ["errors"] = new System.Text.Json.Nodes.JsonArray([.. errors.Take(500).Select(e => (System.Text.Json.Nodes.JsonNode)e)]),
            },
        });
    }
}
