using System.Text.Json;

namespace Gateway.Core.Entities;

/// <summary>One step of an entity: the state after a command, the reply, and any messages raised for delivery.</summary>
public readonly record struct EntityStep<TState, TReply>(TState? State, TReply Reply, IReadOnlyList<EntityOutboxItem>? Raised = null)
    where TState : class;

/// <summary>
/// A kind of entity (budget, rate-limit counter, upstream quota, stop list): its name, its pure state machine and the
/// JSON forms of its state, commands and replies. One generic entity class and one generic client serve every kind.
/// </summary>
public interface IEntityKind
{
    /// <summary>The Durable entity name (lower case).</summary>
    string Name { get; }

    /// <summary>Applies one message to an envelope: the whole behaviour of the entity, pure.</summary>
    EntityEnvelope Apply(EntityEnvelope? envelope, EntityMessage message, DateTimeOffset now);
}

/// <summary>A typed entity kind; <see cref="EntityMachine"/> does the envelope's bookkeeping around <see cref="Step"/>.</summary>
public abstract class EntityKind<TState, TCommand, TReply> : IEntityKind where TState : class
{
    public abstract string Name { get; }

    public abstract EntityStep<TState, TReply> Step(TState? state, TCommand command, DateTimeOffset now);

    public virtual string SerializeState(TState state) => JsonSerializer.Serialize(state, EntityStateJson.Options);

    public virtual TState DeserializeState(string json) => JsonSerializer.Deserialize<TState>(json, EntityStateJson.Options)
        ?? throw new JsonException($"a {Name} state is a JSON object");

    /// <summary>The state from before the envelope, if this kind had one (see <see cref="EntityEnvelope.Budget"/>).</summary>
    public virtual string? LegacyState(EntityEnvelope envelope) => null;

    public string SerializeCommand(TCommand command) => JsonSerializer.Serialize(command, EntityStateJson.Compact);

    public TCommand DeserializeCommand(string json) => JsonSerializer.Deserialize<TCommand>(json, EntityStateJson.Options)
        ?? throw new JsonException($"a {Name} command is a JSON object");

    public JsonElement SerializeReply(TReply reply) => JsonSerializer.SerializeToElement(reply, EntityStateJson.Replies);

    public TReply DeserializeReply(JsonElement json) => json.Deserialize<TReply>(EntityStateJson.Options)!;

    /// <summary>The state an envelope holds (null when none).</summary>
    public TState? StateOf(EntityEnvelope? envelope)
    {
        if (envelope is null) return null;
        var json = envelope.State ?? LegacyState(envelope);
        return json is null ? null : DeserializeState(json);
    }

    public EntityEnvelope Apply(EntityEnvelope? envelope, EntityMessage message, DateTimeOffset now) => EntityMachine.Apply(this, envelope, message, now);
}
