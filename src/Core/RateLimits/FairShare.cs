using System.Collections.Immutable;

namespace Gateway.Core.RateLimits;

/// <summary>
/// Usage of a shared upstream limit (a deployment's requests or tokens per window) by key, in fixed windows aligned
/// to the Unix epoch. Immutable; see <see cref="FairShare"/>.
/// </summary>
public sealed record FairShareState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required long Limit { get; init; }

    public required TimeSpan Window { get; init; }

    public DateTimeOffset WindowStart { get; init; }

    /// <summary>Units taken in the current window by each key that asked (0 for a key refused outright).</summary>
    public ImmutableDictionary<string, long> Used { get; init; } = ImmutableDictionary<string, long>.Empty;

    /// <summary>Keys that asked in the previous window: still counted as active, so their share is kept for them.</summary>
    public ImmutableHashSet<string> PreviouslyActive { get; init; } = [];
}

/// <param name="Share">The fair share per active key: ⌊limit / active keys⌋.</param>
/// <param name="Unclaimed">Capacity no active key's fair share claims (after this decision): a key past its share may take only this.</param>
/// <param name="RetryAfter">Time until the window ends (when refused).</param>
public sealed record FairShareDecision(bool Allowed, long Share, long KeyUsed, long Unclaimed, int ActiveKeys, TimeSpan RetryAfter);

/// <summary>
/// Fair sharing of one upstream limit so a noisy key cannot starve the others. Within a window each active key (one
/// that asked in this or the previous window) may always take up to its share ⌊limit / active keys⌋; beyond that it
/// may take only capacity that no active key's share claims (limit − Σ max(used, share)), i.e. a key may take
/// max(its share, the unused capacity) and the shares of the other active keys stay reserved for them all window. So a lone key can use the whole limit, and
/// when several compete each gets at least its share. A key that becomes active mid-window is guaranteed
/// min(share, what was left unclaimed when it arrived); from the next window on it is protected like the others.
/// </summary>
public static class FairShare
{
    public static FairShareState Create(long limit, TimeSpan window, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        return new FairShareState { Limit = limit, Window = window, WindowStart = WindowOf(now, window) };
    }

    /// <summary>Takes <paramref name="amount"/> units for <paramref name="key"/> if the fair-share rule allows it.</summary>
    public static (FairShareState State, FairShareDecision Decision) TryTake(FairShareState state, string key, long amount, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var s = Roll(state, now);
        if (!s.Used.ContainsKey(key)) s = s with { Used = s.Used.SetItem(key, 0) };

        var active = s.PreviouslyActive.Union(s.Used.Keys);
        var share = s.Limit / active.Count;
        var used = s.Used[key];
        var allowance = Math.Max(0, share - used) + Unclaimed(s, share, active);
        var allowed = amount <= allowance;
        if (allowed)
        {
            used += amount;
            s = s with { Used = s.Used.SetItem(key, used) };
        }

        var unclaimed = Unclaimed(s, share, active);
        var retry = allowed ? TimeSpan.Zero : s.WindowStart + s.Window - now;
        return (s, new FairShareDecision(allowed, share, used, unclaimed, active.Count, retry));
    }

    /// <summary>Gives back units taken but not used (e.g. a token estimate above the real count) in the current window.</summary>
    public static FairShareState Refund(FairShareState state, string key, long amount, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var s = Roll(state, now);
        return s.Used.TryGetValue(key, out var used) ? s with { Used = s.Used.SetItem(key, Math.Max(0, used - amount)) } : s;
    }

    /// <summary>Limit minus, for every active key, the larger of what it used and its share.</summary>
    private static long Unclaimed(FairShareState s, long share, ImmutableHashSet<string> active) =>
        Math.Max(0, s.Limit - active.Sum(k => Math.Max(share, s.Used.GetValueOrDefault(k))));

    private static FairShareState Roll(FairShareState s, DateTimeOffset now)
    {
        var start = WindowOf(now, s.Window);
        if (start <= s.WindowStart) return s;
        var previous = start - s.Window == s.WindowStart ? s.Used.Keys.ToImmutableHashSet() : [];
        return s with { WindowStart = start, Used = ImmutableDictionary<string, long>.Empty, PreviouslyActive = previous };
    }

    private static DateTimeOffset WindowOf(DateTimeOffset now, TimeSpan window)
    {
        var ticks = now.UtcTicks - (now.UtcTicks % window.Ticks);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
