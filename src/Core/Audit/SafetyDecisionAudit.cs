using Gateway.Core.Usage;

namespace Gateway.Core.Audit;

/// <summary>
/// Emits each request's safety decision as a <c>safety.decision</c> audit event as its usage record goes out: the
/// decision string (detector names, actions and counts — <c>input: redact email=2; output: block secret.aws=1</c>, never
/// a matched text), the key and team it applies to, the request it was taken on, and the end user as a keyed hash. The
/// request id is the idempotency key.
/// </summary>
public sealed class SafetyDecisionAudit(IUsageSink inner, IAuditSink audit, SubjectHasher? subjects) : IUsageSink
{
    public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Safety is { Length: > 0 } decision)
        {
            var details = new Dictionary<string, string>(StringComparer.Ordinal) { ["decision"] = decision, ["outcome"] = record.Outcome };
            if (record.ModelRequested is { } model) details["model"] = model;
            if (record.Team is { } team) details["team"] = team;
            audit.Record(new AuditEvent
            {
                Id = "safety:" + record.RequestId,
                At = record.At,
                Type = AuditEventTypes.SafetyDecision,
                Actor = "gateway",
                Scope = "key:" + record.KeyId,
                Target = record.RequestId,
                // a pseudonymous team's record holds the hash already: it is the subject as it is
                Subject = record.User is { } user && subjects is not null ? (SubjectHasher.IsHash(user) ? user : subjects.Hash(user)) : null,
                Details = details,
            });
        }

        return inner.SubmitAsync(record, cancellationToken);
    }
}
