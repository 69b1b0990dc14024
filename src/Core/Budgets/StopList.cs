using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>What an emergency stop outside budgets applies to.</summary>
public enum StopTarget
{
    Model,
    Provider,
}

public sealed record StopEntry(string Reason, DateTimeOffset StoppedAt, DateTimeOffset? Until);

/// <summary>The emergency stop list for models and providers (one entity). Immutable; see <see cref="StopList"/>.</summary>
public sealed record StopListState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>Stops by <c>model:name</c> / <c>provider:name</c> (names compared case-insensitively).</summary>
    public ImmutableDictionary<string, StopEntry> Entries { get; init; } = ImmutableDictionary<string, StopEntry>.Empty;
}

/// <summary>Pure operations on the model/provider stop list. A stop may end by itself (<c>until</c>) or by <see cref="Resume"/>.</summary>
public static class StopList
{
    public static StopListState Stop(StopListState state, StopTarget target, string name, string reason, DateTimeOffset now, DateTimeOffset? until = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (until is { } u && u <= now) throw new ArgumentOutOfRangeException(nameof(until), "a stop must end in the future");
        var pruned = Prune(state, now);
        return pruned with { Entries = pruned.Entries.SetItem(Key(target, name), new StopEntry(reason, now.ToUniversalTime(), until?.ToUniversalTime())) };
    }

    public static StopListState Resume(StopListState state, StopTarget target, string name, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var pruned = Prune(state, now);
        return pruned with { Entries = pruned.Entries.Remove(Key(target, name)) };
    }

    /// <summary>The stop in force for the target at <paramref name="now"/>, or null.</summary>
    public static StopEntry? Find(StopListState state, StopTarget target, string name, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Entries.TryGetValue(Key(target, name), out var entry) && (entry.Until is null || entry.Until > now) ? entry : null;
    }

    /// <summary>Whether a request for <paramref name="model"/> served by <paramref name="provider"/> is stopped.</summary>
    public static StopEntry? FindFor(StopListState state, string model, string provider, DateTimeOffset now) =>
        Find(state, StopTarget.Model, model, now) ?? Find(state, StopTarget.Provider, provider, now);

    /// <summary>Drops stops that have ended.</summary>
    public static StopListState Prune(StopListState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var ended = state.Entries.Where(e => e.Value.Until is { } u && u <= now).Select(e => e.Key).ToList();
        return ended.Count == 0 ? state : state with { Entries = state.Entries.RemoveRange(ended) };
    }

    private static string Key(StopTarget target, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return (target == StopTarget.Model ? "model:" : "provider:") + name.ToLowerInvariant();
    }
}
