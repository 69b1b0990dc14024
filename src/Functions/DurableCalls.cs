using Microsoft.DurableTask.Client;

namespace Gateway.Functions;

/// <summary>Runs an orchestration that calls one entity and returns its answer: the only way a client gets a reply from an entity.</summary>
public static class DurableCalls
{
    public static async Task<T> RunAsync<T>(DurableTaskClient? client, string orchestrator, object input, string what, CancellationToken cancellationToken)
    {
        if (client is null) throw new InvalidOperationException("The Durable client has not been attached yet.");
        var id = await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, cancellationToken).ConfigureAwait(false);
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException($"The {what} ended {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        var result = done.ReadOutputAs<T>() ?? throw new InvalidOperationException($"The {what} returned nothing.");
        // best effort: the orchestration's history is not needed once its answer is read
        _ = client.PurgeInstanceAsync(id, CancellationToken.None);
        return result;
    }
}
