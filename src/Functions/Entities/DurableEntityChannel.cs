using System.Runtime.CompilerServices;
using Gateway.Core.Entities;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Entities;

/// <summary>
/// The gateway's entities in Durable Entities: a signal is one queue message (the runtime applies it within tens of
/// milliseconds), a read is one storage read of the entity's state. No orchestration is involved, so nothing waits on
/// one. The client is the one the host binds to functions (<c>[DurableClient]</c>): every function that may reach an
/// entity hands it over; until the first does, the channel is not ready.
/// </summary>
public sealed class DurableEntityChannel : IEntityChannel
{
    /// <summary>The operation every gateway entity exposes.</summary>
    public const string Operation = nameof(KindEntity.Apply);

    private DurableTaskClient? _client;

    public TimeSpan FirstReadDelay { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan ReadInterval { get; init; } = TimeSpan.FromMilliseconds(25);

    public bool IsReady => Volatile.Read(ref _client) is not null;

    /// <summary>Hands over the Durable client (the first one wins; the host gives every function the same endpoint).</summary>
    public void Attach(DurableTaskClient? client)
    {
        if (client is not null) Interlocked.CompareExchange(ref _client, client, null);
    }

    private DurableTaskClient Client => Volatile.Read(ref _client) ?? throw new InvalidOperationException("The Durable client has not been attached yet.");

    private static EntityInstanceId Id(EntityAddress address) => new(address.Kind, address.Key);

    public Task SignalAsync(EntityAddress to, EntityMessage message, CancellationToken cancellationToken) =>
        Client.Entities.SignalEntityAsync(Id(to), Operation, message, cancellation: cancellationToken);

    public async Task<EntityEnvelope?> ReadAsync(EntityAddress of, CancellationToken cancellationToken)
    {
        var entity = await Client.Entities.GetEntityAsync<EntityEnvelope>(Id(of), cancellationToken).ConfigureAwait(false);
        return entity?.State;
    }

    public async IAsyncEnumerable<(string Key, EntityEnvelope Envelope)> ListAsync(string kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new EntityQuery { InstanceIdStartsWith = "@" + kind + "@", IncludeState = true };
        await foreach (var entity in Client.Entities.GetAllEntitiesAsync<EntityEnvelope>(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (entity.State is { } envelope) yield return (entity.Id.Key, envelope);
        }
    }
}
