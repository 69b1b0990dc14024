using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>The result of reserving on every budget of a request's path.</summary>
/// <param name="Admitted">Whether every budget admitted the request.</param>
/// <param name="States">The new states, in the order given (on refusal, earlier reservations are released again).</param>
/// <param name="RefusedBy">The first scope that refused, for the 429 <c>insufficient_quota</c> message.</param>
public sealed record BudgetPathResult(bool Admitted, ImmutableArray<BudgetState> States, BudgetScope? RefusedBy, BudgetRefusal Refusal);

/// <summary>
/// A request must fit every budget on its path (key, user, team, tags, global). This reserves on each in order and,
/// when one refuses, releases the reservations already made, so the path is all or nothing. The durable-entity adapter
/// does the same with one entity call per budget (narrowest scope first, so the busiest entity, global, is asked last).
/// </summary>
public static class BudgetPath
{
    public static BudgetPathResult Reserve(IReadOnlyList<BudgetState> path, string requestId, decimal amountUsd, DateTimeOffset now, TimeSpan ttl, decimal? maxCostUsd = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var states = path.ToArray();
        for (var i = 0; i < states.Length; i++)
        {
            var outcome = BudgetMachine.Reserve(states[i], requestId, amountUsd, now, ttl, maxCostUsd);
            states[i] = outcome.State;
            if (outcome.Result.Admitted) continue;
            for (var j = 0; j < i; j++) states[j] = BudgetMachine.Release(states[j], requestId, now).State;
            return new BudgetPathResult(false, [.. states], states[i].Definition.Scope, outcome.Result.Refusal);
        }

        return new BudgetPathResult(true, [.. states], null, BudgetRefusal.None);
    }
}
