namespace Gateway.Core.Entities;

/// <summary>
/// The stored state of every entity (budgets, rate-limit counters, upstream quotas, the stop list): the kind's own state
/// as versioned JSON (its codec), the replies to recent asks, and an outbox of messages the entity raised for delivery
/// (budget alerts). Entities never do I/O and never answer a caller directly: a caller signals a command with an ask id
/// and reads the reply from here, which is one storage read instead of an orchestration.
/// </summary>
public sealed class EntityEnvelope
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>The kind's state, serialised by its codec; null when the entity holds none (e.g. a deleted budget).</summary>
    public string? State { get; set; }

    /// <summary>Replies by ask id, kept for <see cref="EntityMachine.ReplyRetention"/>.</summary>
    public Dictionary<string, EntityReply> Replies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Messages raised for delivery, until acknowledged.</summary>
    public List<EntityOutboxItem> Outbox { get; set; } = [];

    /// <summary>Pre-envelope state of a budget entity (read once, then written as <see cref="State"/>).</summary>
    public string? Budget { get; set; }

    /// <summary>Pre-envelope state of a rate-limit entity.</summary>
    public string? Limiter { get; set; }

    /// <summary>Pre-envelope state of an upstream entity.</summary>
    public string? Counter { get; set; }

    /// <summary>Anything else stored (the stop list was stored bare before envelopes); read by <see cref="EntityKind{TState, TCommand, TReply}.LegacyState"/>.</summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Other { get; set; }

    /// <summary>Nothing left worth storing: the entity can be deleted.</summary>
    public bool IsEmpty => State is null && Replies.Count == 0 && Outbox.Count == 0;
}

/// <summary>A reply to one ask: the kind's reply as JSON and when it was made, or why the command was refused.</summary>
/// <remarks>The reply is kept as JSON in place (not as a string of JSON), so it is not escaped again on every save.</remarks>
public sealed record EntityReply(System.Text.Json.JsonElement? Value, DateTimeOffset At, string? Error = null);

/// <summary>A message an entity raised (e.g. a budget alert): a stable id, its JSON, the instance whose command raised it.</summary>
public sealed record EntityOutboxItem(string Id, string Value, string? RaisedBy, DateTimeOffset At);
