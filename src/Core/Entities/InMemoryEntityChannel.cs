using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gateway.Core.Entities;

/// <summary>
/// Entities in this process (a single instance, tests, benchmarks): each signal is applied at once, one at a time per
/// entity, and envelopes are stored serialised as the Durable runtime stores them. <see cref="Pause"/> holds signals
/// back (an entity that has not yet run them) until <see cref="ResumeAsync"/> applies them in order.
/// </summary>
public sealed class InMemoryEntityChannel(TimeProvider time, params IEntityKind[] kinds) : IEntityChannel
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);
    private readonly Dictionary<string, IEntityKind> _kinds = kinds.ToDictionary(k => k.Name, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<EntityAddress, Slot> _slots = new();
    private readonly ConcurrentQueue<(EntityAddress To, EntityMessage Message)> _held = new();
    private volatile bool _paused;

    private sealed class Slot
    {
        public readonly Lock Gate = new();
        public string? Json;
    }

    public TimeSpan FirstReadDelay => TimeSpan.Zero;

    public TimeSpan ReadInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    public bool IsReady => true;

    /// <summary>Signals applied so far, by kind.</summary>
    public ConcurrentDictionary<string, int> Applied { get; } = new(StringComparer.Ordinal);

    private int _reads;

    /// <summary>Reads served so far.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Adds a kind (entities of unknown kinds are refused).</summary>
    public InMemoryEntityChannel With(IEntityKind kind)
    {
        _kinds[kind.Name] = kind;
        return this;
    }

    public void Pause() => _paused = true;

    /// <summary>Applies the held signals in order and stops holding.</summary>
    public Task ResumeAsync()
    {
        _paused = false;
        while (_held.TryDequeue(out var held)) Deliver(held.To, held.Message);
        return Task.CompletedTask;
    }

    public Task SignalAsync(EntityAddress to, EntityMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_kinds.ContainsKey(to.Kind)) throw new InvalidOperationException($"No entity kind '{to.Kind}' is registered.");
        if (_paused) _held.Enqueue((to, message));
        else Deliver(to, message);
        return Task.CompletedTask;
    }

    private void Deliver(EntityAddress to, EntityMessage message)
    {
        var kind = _kinds[to.Kind];
        var slot = _slots.GetOrAdd(to, _ => new Slot());
        lock (slot.Gate)
        {
            var current = slot.Json is null ? null : JsonSerializer.Deserialize<EntityEnvelope>(slot.Json, Json);
            var next = kind.Apply(current, message, time.GetUtcNow());
            slot.Json = next.IsEmpty ? null : JsonSerializer.Serialize(next, Json);
        }

        Applied.AddOrUpdate(to.Kind, 1, (_, n) => n + 1);
    }

    public Task<EntityEnvelope?> ReadAsync(EntityAddress of, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _reads);
        if (!_slots.TryGetValue(of, out var slot)) return Task.FromResult<EntityEnvelope?>(null);
        lock (slot.Gate) return Task.FromResult(slot.Json is null ? null : JsonSerializer.Deserialize<EntityEnvelope>(slot.Json, Json));
    }

    public async IAsyncEnumerable<(string Key, EntityEnvelope Envelope)> ListAsync(string kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var address in _slots.Keys.Where(a => a.Kind == kind).ToList())
        {
            var envelope = await ReadAsync(address, cancellationToken).ConfigureAwait(false);
            if (envelope is not null) yield return (address.Key, envelope);
        }
    }
}
