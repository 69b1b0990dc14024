using Gateway.Core.Budgets;

namespace Gateway.Core.Analytics;

/// <summary>A configured budget: its definition and when it was first configured (the start of a lifetime period).</summary>
public sealed record ConfiguredBudget(BudgetDefinition Definition, DateTimeOffset CreatedAt);

/// <summary>Where the analytics engine finds the budgets to forecast.</summary>
public interface IBudgetSource
{
    Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>The budgets as their entities hold them (one read of every budget entity).</summary>
public sealed class EntityBudgetSource(BudgetGate gate) : IBudgetSource
{
    public async Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken)
    {
        var list = new List<ConfiguredBudget>();
        await foreach (var (state, _) in gate.Entities.ListAsync(cancellationToken).ConfigureAwait(false))
            list.Add(new ConfiguredBudget(state.Definition, state.CreatedAt));
        return list;
    }
}

/// <summary>No budgets to forecast: the source when the <c>Budgets</c> feature is off (budgets are neither enforced nor forecast).</summary>
public sealed class NoBudgetSource : IBudgetSource
{
    public static readonly NoBudgetSource Instance = new();

    public Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ConfiguredBudget>>([]);
}
