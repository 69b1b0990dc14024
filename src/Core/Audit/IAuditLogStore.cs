namespace Gateway.Core.Audit;

/// <summary>An entry as stored: its sequence number and its canonical text (what its leaf hash is computed over).</summary>
public sealed record StoredAuditEntry(long Sequence, string Text);

/// <summary>The result of an append: the entries added (numbered from the log's size before), and the events skipped as already in the log.</summary>
public sealed record AuditAppendResult(IReadOnlyList<StoredAuditEntry> Appended, int Duplicates, long Size);

/// <summary>A search of the log: events with <c>From ≤ At &lt; To</c>, optionally of one actor, type (or type prefix ending in <c>.</c>), scope or subject.</summary>
public sealed record AuditQuery(DateTimeOffset From, DateTimeOffset To, string? Actor = null, string? Type = null, string? Scope = null, string? Subject = null);

/// <summary>
/// The audit log's storage (Table Storage in production): entries with gap-free sequence numbers, appended by one writer
/// at a time (concurrent writers are serialized by the store — optimistic concurrency on the log's head), each event id
/// at most once, and the signed checkpoints beside them.
/// </summary>
public interface IAuditLogStore
{
    /// <summary>
    /// Appends the events whose ids are not yet in the log, in order, numbered from the log's size; <paramref name="serialize"/>
    /// gives an event's stored text at its sequence number. Each call is atomic: all of its new entries, or none.
    /// </summary>
    Task<AuditAppendResult> AppendAsync(IReadOnlyList<AuditEvent> events, Func<long, AuditEvent, string> serialize, CancellationToken cancellationToken);

    /// <summary>The number of entries ever appended (the next sequence number).</summary>
    Task<long> SizeAsync(CancellationToken cancellationToken);

    /// <summary>Entries with <c>from ≤ Sequence &lt; to</c> still kept, in order, streamed.</summary>
    IAsyncEnumerable<StoredAuditEntry> ReadAsync(long from, long to, CancellationToken cancellationToken);

    /// <summary>The entries <paramref name="query"/> selects, in sequence order, streamed.</summary>
    IAsyncEnumerable<StoredAuditEntry> QueryAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Every checkpoint's stored text, oldest first.</summary>
    Task<IReadOnlyList<string>> ReadCheckpointsAsync(CancellationToken cancellationToken);

    /// <summary>The latest checkpoint's text (null when none) and the version a next one must be added after.</summary>
    Task<(string? Text, string? Version)> ReadLastCheckpointAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores the checkpoint sealing the first <paramref name="treeSize"/> entries, if no other was added since the
    /// latest was read at <paramref name="afterVersion"/> (false otherwise: two sealers raced, and the chain must not
    /// fork), with a copy in the write-once container.
    /// </summary>
    Task<bool> TryAddCheckpointAsync(long treeSize, string text, string? afterVersion, CancellationToken cancellationToken);

    /// <summary>The latest write-once copy of a checkpoint (its tree size and text), or null when there is none (or no copies are kept).</summary>
    Task<(long TreeSize, string Text)?> ReadLatestCopyAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the entries with <c>Sequence &lt; <paramref name="before"/></c> (a sealed segment's end) and their idempotency keys; returns how many.</summary>
    Task<long> DeleteBeforeAsync(long before, CancellationToken cancellationToken);
}
