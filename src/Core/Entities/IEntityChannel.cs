namespace Gateway.Core.Entities;

/// <summary>
/// Where entities live (Durable Entities in the Functions app, memory otherwise): one-way signals, which the runtime
/// applies one at a time per entity, and reads of an entity's stored envelope. Neither waits on an orchestration.
/// </summary>
public interface IEntityChannel
{
    /// <summary>How long after a signal its effect is worth looking for (0 when signals are applied before they return).</summary>
    TimeSpan FirstReadDelay { get; }

    /// <summary>How often an asker reads the entity again while it waits for a reply.</summary>
    TimeSpan ReadInterval { get; }

    /// <summary>Whether the channel can be used yet (the Durable client arrives with the first function call).</summary>
    bool IsReady { get; }

    /// <summary>Sends a message; durable once this returns. Throws when the store cannot be reached.</summary>
    Task SignalAsync(EntityAddress to, EntityMessage message, CancellationToken cancellationToken);

    /// <summary>The entity's stored envelope, or null when it has none.</summary>
    Task<EntityEnvelope?> ReadAsync(EntityAddress of, CancellationToken cancellationToken);

    /// <summary>Every entity of a kind with its envelope.</summary>
    IAsyncEnumerable<(string Key, EntityEnvelope Envelope)> ListAsync(string kind, CancellationToken cancellationToken);
}
