using Gateway.Core.RateLimits;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.RateLimits;

/// <summary>A rate-limit entity's stored state: the limiter in its versioned JSON form (<see cref="RateLimitStateCodec"/>).</summary>
public sealed class RateLimitEntityState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    public string? Limiter { get; set; }
}

/// <summary>
/// One Durable Entity per rate-limited counter (entity key: <c>key:…</c> or <c>key:…|model:…</c>). Thin: its one
/// operation hands the command to <see cref="RateLimitCommands.Apply"/>; the runtime runs one operation at a time.
/// </summary>
public sealed class RateLimitEntity(TimeProvider time) : TaskEntity<RateLimitEntityState>
{
    public const string Name = "ratelimit";

    public RateLimitCommandResult Apply(RateLimitCommand command)
    {
        var current = State.Limiter is null ? null : RateLimitStateCodec.Deserialize(State.Limiter);
        var (next, result) = RateLimitCommands.Apply(current, command, time.GetUtcNow());
        State = new RateLimitEntityState { Limiter = RateLimitStateCodec.Serialize(next) };
        return result;
    }

    protected override RateLimitEntityState InitializeState(TaskEntityOperation entityOperation) => new();

    [Function(Name)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<RateLimitEntity>();
}

/// <summary>A command for one rate-limit entity, as an orchestration's input.</summary>
public sealed record RateLimitCall(string Counter, RateLimitCommand Command);

/// <summary>Rate-limit counters in Durable Entities, called through a small orchestration (only when an allotment runs out).</summary>
public sealed class DurableRateLimitBackend : IRateLimitBackend
{
    public const string Orchestrator = "RateLimitCall";
    private DurableTaskClient? _client;

    public void Attach(DurableTaskClient client) => Interlocked.CompareExchange(ref _client, client, null);

    public Task<RateLimitCommandResult> SendAsync(string counterId, RateLimitCommand command, CancellationToken cancellationToken) =>
        DurableCalls.RunAsync<RateLimitCommandResult>(_client, Orchestrator, new RateLimitCall(counterId, command), $"rate-limit call for {counterId}", cancellationToken);

    [Function(Orchestrator)]
    public static Task<RateLimitCommandResult> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var call = context.GetInput<RateLimitCall>() ?? throw new InvalidOperationException("A rate-limit call needs its input.");
        return context.Entities.CallEntityAsync<RateLimitCommandResult>(new EntityInstanceId(RateLimitEntity.Name, call.Counter), nameof(RateLimitEntity.Apply), call.Command);
    }
}
