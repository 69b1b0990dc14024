namespace Gateway.Core.Entities;

/// <summary>
/// What is sent to an entity (one-way): a command of the entity's kind as JSON — or several, applied in order as if sent
/// one by one (an instance groups the commands of concurrent requests into one message) — and, when the sender waits for
/// the answer, the id under which the entity files its reply (<see cref="EntityEnvelope.Replies"/>; for several
/// commands, a JSON array of <see cref="EntityItemReply"/>). <see cref="Ack"/> removes delivered outbox items;
/// <see cref="From"/> names the sending instance (it publishes what its commands raise).
/// </summary>
public sealed record EntityMessage
{
    public string? Command { get; init; }

    public IReadOnlyList<string>? Commands { get; init; }

    public string? AskId { get; init; }

    public string? From { get; init; }

    public IReadOnlyList<string>? Ack { get; init; }

    /// <summary>Replies the sender has read: removed now, so an entity decided on by many requests does not carry their replies for long.</summary>
    public IReadOnlyList<string>? Read { get; init; }
}

/// <summary>One command's reply within a grouped message: its reply as JSON, or why it was refused.</summary>
public sealed record EntityItemReply(System.Text.Json.JsonElement? Value, string? Error = null);
