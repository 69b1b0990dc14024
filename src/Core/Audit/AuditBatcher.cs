using Gateway.Core.Usage;

namespace Gateway.Core.Audit;

/// <summary>Audit events, batched onto the <c>audit-events</c> queue off the request path (the request pays for an append to a list).</summary>
public sealed class AuditBatcher(IBatchSender<AuditEvent> sender, TimeProvider time, UsageBatchingOptions options, Action<int>? onDropped = null, Action<Exception>? onSendFailed = null)
    : SpoolingBatcher<AuditEvent>(sender, time, options, onDropped, onSendFailed), IAuditSink
{
    public void Record(AuditEvent auditEvent) => Add(auditEvent);
}
