using System.Text.Json.Nodes;

namespace Gateway.Core.Audit;

/// <summary>
/// One thing the audit log records: who did what, to what, with the state before and after. Never holds a secret, a
/// matched text or a plain end-user id (<see cref="Subject"/> is a keyed hash, see <see cref="SubjectHasher"/>).
/// </summary>
public sealed record AuditEvent
{
    /// <summary>The idempotency key: unique per event (a new id, or one derived from what it counts, such as a source and a minute); the log appends an id once however often it is delivered.</summary>
    public required string Id { get; init; }

    /// <summary>When it happened (UTC).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>What happened, one of <see cref="AuditEventTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>Who did it: <c>admin</c> (or <c>admin:&lt;name&gt;</c> when the caller names itself), <c>gateway</c> for the gateway's own decisions, <c>key:&lt;id&gt;</c> for a request's key.</summary>
    public required string Actor { get; init; }

    /// <summary>The scope it applies to: <c>global</c>, <c>team:…</c>, <c>key:…</c>, <c>user:&lt;hash&gt;</c>, <c>deployment:…</c>.</summary>
    public string? Scope { get; init; }

    /// <summary>What was acted on: a key id, a budget path, a policy name, a request id.</summary>
    public string? Target { get; init; }

    /// <summary>The end user the event concerns, as a keyed hash (never the plain id); null when none.</summary>
    public string? Subject { get; init; }

    /// <summary>The state before the change (admin actions), without secrets.</summary>
    public JsonNode? Before { get; init; }

    /// <summary>The state after the change (admin actions), without secrets.</summary>
    public JsonNode? After { get; init; }

    /// <summary>Anything else, as short strings (a detector and its action, a count, a source).</summary>
    public IReadOnlyDictionary<string, string>? Details { get; init; }
}

/// <summary>The kinds of audit event.</summary>
public static class AuditEventTypes
{
    public const string KeyCreated = "admin.key.created";
    public const string KeyUpdated = "admin.key.updated";
    public const string KeyRevoked = "admin.key.revoked";
    public const string BudgetSet = "admin.budget.set";
    public const string BudgetDeleted = "admin.budget.deleted";

    /// <summary>A budget command: <c>admin.budget.deleted</c>, <c>admin.budget.stop</c>, <c>admin.budget.resume</c>, <c>admin.budget.reset</c>.</summary>
    public static string BudgetCommand(Budgets.BudgetOp op) => op == Budgets.BudgetOp.Delete ? BudgetDeleted : "admin.budget." + op.ToString().ToLowerInvariant();
    public const string StopSet = "admin.stop.set";
    public const string StopCleared = "admin.stop.cleared";
    public const string PricingReplaced = "admin.pricing.replaced";
    public const string CatalogReplaced = "admin.catalog.replaced";
    /// <summary>The model catalog went back to the configured one (the replacement was deleted).</summary>
    public const string CatalogReverted = "admin.catalog.reverted";
    public const string SafetyReplaced = "admin.safety.replaced";
    public const string SafetyDecision = "safety.decision";
    public const string AuthRefused = "auth.refused";
    public const string BudgetAlert = "budget.alert";
    public const string UserDataExported = "gdpr.exported";
    public const string UserDataErased = "gdpr.erased";
}

/// <summary>Where audit events go: batched and sent off the request path (the <c>audit-events</c> queue in production). Never blocks, never throws.</summary>
public interface IAuditSink
{
    void Record(AuditEvent auditEvent);
}

/// <summary>Discards events (benchmarks, and runtimes built without an audit log).</summary>
public sealed class NullAuditSink : IAuditSink
{
    public static readonly NullAuditSink Instance = new();

    public void Record(AuditEvent auditEvent)
    {
    }
}

/// <summary>Keeps events in memory (tests, and the default when no queue is configured).</summary>
public sealed class InMemoryAuditSink : IAuditSink
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<AuditEvent> _events = new();

    public IReadOnlyList<AuditEvent> Events => [.. _events];

    public void Record(AuditEvent auditEvent) => _events.Enqueue(auditEvent);
}

/// <summary>
/// The keyed hash that stands for an end user wherever the plain id must not be kept (the audit log always; usage
/// records when a team asks for pseudonyms): HMAC-SHA256 with a secret pepper, so the same user always maps to the
/// same value, nobody without the pepper can test a guess, and erasing a user's data leaves the hashed entries (and
/// the audit chain over them) intact.
/// </summary>
public sealed class SubjectHasher(byte[] pepper)
{
    public string Hash(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        var mac = System.Security.Cryptography.HMACSHA256.HashData(pepper, System.Text.Encoding.UTF8.GetBytes(userId));
        return "u_" + Convert.ToHexStringLower(mac.AsSpan(0, 16));
    }

    /// <summary>Whether <paramref name="value"/> has the form of a hash <see cref="Hash"/> gives (<c>u_</c> and 32 lower-case hex digits).</summary>
    public static bool IsHash(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length == 34 && value.StartsWith("u_", StringComparison.Ordinal) && !value.AsSpan(2).ContainsAnyExcept(LowerHex);
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
