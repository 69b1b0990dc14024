using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gateway.Core.Entities;
using Gateway.Functions.Entities;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Tests.Budgets;

/// <summary>
/// Runs the real entity classes the way the Durable runtime does: one operation at a time per entity id, state loaded
/// from and saved to its serialised form between operations, input serialised across the boundary, state deleted when
/// the entity sets it to null. (End-to-end tests run them in the real runtime on the Functions host.)
/// </summary>
public sealed class EntityHost(Func<string, ITaskEntity> create)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);
    private readonly ConcurrentDictionary<string, (SemaphoreSlim Gate, string? State)> _entities = new();

    public int Operations;

    /// <summary>The gateway's four entity classes, by entity name.</summary>
    public static EntityHost Gateway(TimeProvider time) => new(name => name switch
    {
        "budget" => new BudgetEntity(time),
        "ratelimit" => new RateLimitEntity(time),
        "upstream" => new UpstreamEntity(time),
        "stops" => new StopsEntity(time),
        _ => throw new ArgumentException($"no entity named {name}"),
    });

    public string? StoredState(string id) => _entities.TryGetValue(id, out var e) ? e.State : null;

    public IEnumerable<string> Ids => _entities.Where(e => e.Value.State is not null).Select(e => e.Key);

    public async Task RunAsync(EntityInstanceId id, string operation, object? input)
    {
        var key = id.ToString();
        var gate = _entities.GetOrAdd(key, _ => (new SemaphoreSlim(1, 1), null)).Gate;
        await gate.WaitAsync();
        try
        {
            Interlocked.Increment(ref Operations);
            var state = new HostState(_entities[key].State);
            var op = new HostOperation(operation, new HostContext(id), state, input is null ? null : JsonSerializer.Serialize(input, Json));
            await create(id.Name).RunAsync(op);
            _entities[key] = (gate, state.Json);
        }
        finally
        {
            gate.Release();
        }
    }

    private sealed class HostState(string? json) : TaskEntityState
    {
        public string? Json { get; private set; } = json;

        public override bool HasState => Json is not null;

        public override object? GetState(Type type) => Json is null ? null : JsonSerializer.Deserialize(Json, type, EntityHost.Json);

        public override void SetState(object? state) => Json = state is null ? null : JsonSerializer.Serialize(state, state.GetType(), EntityHost.Json);
    }

    private sealed class HostContext(EntityInstanceId id) : TaskEntityContext
    {
        public override EntityInstanceId Id => id;

        public override void SignalEntity(EntityInstanceId id, string operationName, object? input = null, SignalEntityOptions? options = null) =>
            throw new NotSupportedException("Gateway entities do not signal other entities.");

        public override string ScheduleNewOrchestration(TaskName name, object? input = null, StartOrchestrationOptions? options = null) =>
            throw new NotSupportedException("Gateway entities do not start orchestrations.");
    }

    private sealed class HostOperation(string name, TaskEntityContext context, TaskEntityState state, string? input) : TaskEntityOperation
    {
        public override string Name => name;
        public override TaskEntityContext Context => context;
        public override TaskEntityState State => state;
        public override bool HasInput => input is not null;

        public override object? GetInput(Type inputType) => input is null ? null : JsonSerializer.Deserialize(input, inputType, Json);
    }
}

/// <summary>The gateway's entity channel over the real entity classes hosted by <see cref="EntityHost"/> (signals applied at once).</summary>
public sealed class EntityHostChannel(TimeProvider time) : IEntityChannel
{
    public EntityHost Host { get; } = EntityHost.Gateway(time);

    public TimeSpan FirstReadDelay => TimeSpan.Zero;

    public TimeSpan ReadInterval => TimeSpan.FromMilliseconds(5);

    public bool IsReady => true;

    public Task SignalAsync(EntityAddress to, EntityMessage message, CancellationToken cancellationToken) =>
        Host.RunAsync(new EntityInstanceId(to.Kind, to.Key), DurableEntityChannel.Operation, message);

    public Task<EntityEnvelope?> ReadAsync(EntityAddress of, CancellationToken cancellationToken)
    {
        var json = Host.StoredState(new EntityInstanceId(of.Kind, of.Key).ToString());
        return Task.FromResult(json is null ? null : JsonSerializer.Deserialize<EntityEnvelope>(json));
    }

    public async IAsyncEnumerable<(string Key, EntityEnvelope Envelope)> ListAsync(string kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var id in Host.Ids.Where(i => i.StartsWith("@" + kind + "@", StringComparison.Ordinal)).ToList())
        {
            var key = id[(kind.Length + 2)..];
            if (await ReadAsync(new EntityAddress(kind, key), cancellationToken) is { } envelope) yield return (key, envelope);
        }
    }
}
