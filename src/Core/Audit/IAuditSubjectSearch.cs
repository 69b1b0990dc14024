namespace Gateway.Core.Audit;

/// <summary>Finds the audit events that name an end user, by the keyed hash that stands for them (data-subject exports).</summary>
public interface IAuditSubjectSearch
{
    IAsyncEnumerable<AuditEvent> FindBySubjectAsync(string subjectHash, CancellationToken cancellationToken);
}
