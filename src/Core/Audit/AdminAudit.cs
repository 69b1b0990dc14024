using System.Text.Json.Nodes;

namespace Gateway.Core.Audit;

/// <summary>
/// Records admin changes: who (<see cref="AuditActor"/>), what (the event type and its target), the state before and
/// after. Only changes that took effect are recorded (a refused request changed nothing). The states given must be the
/// public views the admin API shows — never a plain key, a key hash or a secret.
/// </summary>
public sealed class AdminAudit(IAuditSink sink, TimeProvider time)
{
    /// <summary>Runs <paramref name="change"/> and records it with the state <paramref name="before"/> read first; returns the change's answer.</summary>
    public async Task<T> ChangeAsync<T>(AuditActor actor, string type, string target, Func<CancellationToken, Task<JsonNode?>>? before,
        Func<CancellationToken, Task<T>> change, Func<T, JsonNode?> after, CancellationToken cancellationToken, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(after);
        var was = before is null ? null : await before(cancellationToken).ConfigureAwait(false);
        var result = await change(cancellationToken).ConfigureAwait(false);
        Record(actor, type, target, was, after(result), scope);
        return result;
    }

    /// <summary>Records a change made elsewhere (its states already known).</summary>
    public void Record(AuditActor actor, string type, string target, JsonNode? before, JsonNode? after, string? scope = null,
        IReadOnlyDictionary<string, string>? details = null, string? subject = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var all = new Dictionary<string, string>(details ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (actor.Source is { Length: > 0 } source) all["source"] = source;
        sink.Record(new AuditEvent
        {
            Id = Guid.NewGuid().ToString("N"),
            At = time.GetUtcNow(),
            Type = type,
            Actor = actor.Name,
            Target = target,
            Scope = scope,
            Subject = subject,
            Before = before?.DeepClone(),
            After = after?.DeepClone(),
            Details = all.Count == 0 ? null : all,
        });
    }

    /// <summary>A large document's audit view: its SHA-256 and a few facts, instead of the whole text.</summary>
    public static JsonObject Digest(string document, JsonObject? facts = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        var o = facts?.DeepClone().AsObject() ?? [];
        o["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(document)));
        return o;
    }
}
