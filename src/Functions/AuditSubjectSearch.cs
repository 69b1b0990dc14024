using System.Runtime.CompilerServices;
using Gateway.Core.Audit;

namespace Gateway.Functions;

/// <summary>The audit events that name an end user (by their keyed hash), for the data-subject export.</summary>
public sealed class AuditSubjectSearch(AuditServices audit) : IAuditSubjectSearch
{
    public async IAsyncEnumerable<AuditEvent> FindBySubjectAsync(string subjectHash, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var log = await audit.LogAsync(cancellationToken).ConfigureAwait(false);
        // all time, as Table Storage counts it (its dates start in 1601)
        var query = new AuditQuery(new DateTimeOffset(1601, 1, 2, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(9999, 12, 30, 0, 0, 0, TimeSpan.Zero), Subject: subjectHash);
        await foreach (var entry in log.QueryAsync(query, cancellationToken).ConfigureAwait(false)) yield return entry.Event;
    }
}
