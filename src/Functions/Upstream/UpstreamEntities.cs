using System.Text.Json;
using Gateway.Core.Budgets;
using Gateway.Core.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Upstream;

/// <summary>Stored state of a deployment's upstream counter: <see cref="UpstreamState"/> (versioned) as JSON.</summary>
public sealed class UpstreamEntityState
{
    public int SchemaVersion { get; set; } = UpstreamState.CurrentSchemaVersion;
    public string? Counter { get; set; }
}

/// <summary>One entity per deployment (key = deployment name): its provider quota shared fairly among keys.</summary>
public sealed class UpstreamEntity(TimeProvider time) : TaskEntity<UpstreamEntityState>
{
    public const string Name = "upstream";

    public UpstreamResult Apply(UpstreamCommand command)
    {
        var current = State.Counter is null ? null : JsonSerializer.Deserialize<UpstreamState>(State.Counter);
        var (next, result) = UpstreamCommands.Apply(current, command, time.GetUtcNow());
        State = new UpstreamEntityState { Counter = JsonSerializer.Serialize(next) };
        return result;
    }

    protected override UpstreamEntityState InitializeState(TaskEntityOperation entityOperation) => new();

    [Function(Name)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<UpstreamEntity>();
}

/// <summary>The model and provider stop list: one entity (key <c>all</c>).</summary>
public sealed class StopsEntity(TimeProvider time) : TaskEntity<StopListState>
{
    public const string Name = "stops";
    public static readonly EntityInstanceId Id = new(Name, "all");

    public StopListState Change(StopCommand command) => State = command.Apply(State, time.GetUtcNow());

    protected override StopListState InitializeState(TaskEntityOperation entityOperation) => new();

    [Function(Name)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<StopsEntity>();
}

public sealed record UpstreamCall(string Deployment, UpstreamCommand Command);

/// <summary>Upstream counters and stops in Durable Entities; calls that must answer go through a small orchestration.</summary>
public sealed class DurableUpstreamBackend : IUpstreamBackend
{
    public const string Orchestrator = "UpstreamCall";
    public const string StopsOrchestrator = "StopsChange";
    private DurableTaskClient? _client;

    public void Attach(DurableTaskClient client) => Interlocked.CompareExchange(ref _client, client, null);

    private DurableTaskClient Client => _client ?? throw new InvalidOperationException("The Durable client has not been attached yet.");


    public Task<UpstreamResult> SendAsync(string deployment, UpstreamCommand command, CancellationToken cancellationToken) =>
        DurableCalls.RunAsync<UpstreamResult>(_client, Orchestrator, new UpstreamCall(deployment, command), $"upstream call for {deployment}", cancellationToken);

    public async Task<StopListState> ReadStopsAsync(CancellationToken cancellationToken)
    {
        // reading an entity's state needs no orchestration
        var entity = await Client.Entities.GetEntityAsync<StopListState>(StopsEntity.Id, cancellationToken).ConfigureAwait(false);
        return entity?.State ?? new StopListState();
    }

    public Task<StopListState> ChangeStopsAsync(StopCommand command, CancellationToken cancellationToken) =>
        DurableCalls.RunAsync<StopListState>(_client, StopsOrchestrator, command, "stop-list change", cancellationToken);

    [Function(Orchestrator)]
    public static Task<UpstreamResult> RunUpstream([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var call = context.GetInput<UpstreamCall>() ?? throw new InvalidOperationException("An upstream call needs its input.");
        return context.Entities.CallEntityAsync<UpstreamResult>(new EntityInstanceId(UpstreamEntity.Name, call.Deployment), nameof(UpstreamEntity.Apply), call.Command);
    }

    [Function(StopsOrchestrator)]
    public static Task<StopListState> RunStops([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var command = context.GetInput<StopCommand>() ?? throw new InvalidOperationException("A stop change needs its input.");
        return context.Entities.CallEntityAsync<StopListState>(StopsEntity.Id, nameof(StopsEntity.Change), command);
    }
}
