using System.Globalization;
using FsCheck.Xunit;
using Gateway.Core.RateLimits;

namespace Gateway.Core.Tests.RateLimits;

public sealed class FairShareTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-05-10T12:00:00Z", CultureInfo.InvariantCulture);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void A_lone_key_may_use_the_whole_limit()
    {
        var state = FairShare.Create(100, Minute, T0);
        var (next, decision) = FairShare.TryTake(state, "noisy", 100, T0);
        Assert.True(decision.Allowed);
        Assert.Equal(TimeSpan.Zero, decision.RetryAfter); // an allowed take has nothing to wait for
        Assert.Equal((100L, 1, 0L), (decision.Share, decision.ActiveKeys, decision.Unclaimed));
        Assert.False(FairShare.TryTake(next, "noisy", 1, T0.AddSeconds(10)).Decision.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(50), FairShare.TryTake(next, "noisy", 1, T0.AddSeconds(10)).Decision.RetryAfter);
    }

    [Fact]
    public void A_noisy_key_cannot_take_the_share_of_a_key_active_in_the_previous_window()
    {
        var state = FairShare.Create(100, Minute, T0);
        state = FairShare.TryTake(state, "quiet", 1, T0).State;
        state = FairShare.TryTake(state, "noisy", 10, T0).State;

        // Next window: both are active, so each is guaranteed 50.
        var at = T0 + Minute;
        var taken = 0L;
        for (var i = 0; i < 20; i++)
        {
            var (next, decision) = FairShare.TryTake(state, "noisy", 10, at);
            state = next;
            if (decision.Allowed) taken += 10;
        }

        Assert.Equal(50, taken);
        var quiet = FairShare.TryTake(state, "quiet", 50, at.AddSeconds(30));
        Assert.True(quiet.Decision.Allowed);
        Assert.Equal(50, quiet.Decision.KeyUsed);
    }

    [Fact]
    public void Past_its_share_a_key_gets_only_capacity_no_share_claims()
    {
        var state = FairShare.Create(100, Minute, T0);
        state = FairShare.TryTake(state, "a", 5, T0).State;
        state = FairShare.TryTake(state, "b", 5, T0).State;
        state = FairShare.TryTake(state, "c", 5, T0).State;
        // Share 33 each; 100 − 3 × 33 = 1 is claimed by no share, so a may reach 34 and no further.
        Assert.False(FairShare.TryTake(state, "a", 30, T0).Decision.Allowed);
        var (next, decision) = FairShare.TryTake(state, "a", 29, T0);
        Assert.True(decision.Allowed);
        Assert.Equal((33L, 34L, 0L, 3), (decision.Share, decision.KeyUsed, decision.Unclaimed, decision.ActiveKeys));
        Assert.False(FairShare.TryTake(next, "a", 1, T0).Decision.Allowed);
        Assert.True(FairShare.TryTake(next, "b", 28, T0).Decision.Allowed);
        Assert.False(FairShare.TryTake(next, "b", 29, T0).Decision.Allowed);
    }

    [Fact]
    public void Keys_idle_for_a_whole_window_stop_counting_and_refunds_free_capacity()
    {
        var state = FairShare.Create(100, Minute, T0);
        state = FairShare.TryTake(state, "a", 10, T0).State;
        state = FairShare.TryTake(state, "b", 10, T0).State;
        var two = FairShare.TryTake(state, "a", 0, T0 + (2 * Minute));
        Assert.Equal(1, two.Decision.ActiveKeys);

        var refunded = FairShare.Refund(state, "a", 4, T0);
        Assert.Equal(6, refunded.Used["a"]);
    }

    [Property(MaxTest = 300)]
    public bool Total_never_exceeds_the_limit_and_every_persistent_key_gets_its_share(int seed)
    {
        var random = new System.Random(seed);
        const long limit = 120;
        var keys = new[] { "a", "b", "c", "d" };
        var state = FairShare.Create(limit, Minute, T0);
        // Warm-up window: every key is seen, so all four are protected in the next.
        foreach (var key in keys) state = FairShare.TryTake(state, key, 1, T0).State;
        var at = T0 + Minute;
        var demand = keys.ToDictionary(k => k, _ => random.Next(0, 3) == 0 ? 1000L : random.Next(0, 40));
        var got = keys.ToDictionary(k => k, _ => 0L);
        for (var step = 0; step < 400; step++)
        {
            var key = keys[random.Next(keys.Length)];
            if (got[key] >= demand[key]) continue;
            var amount = Math.Min(demand[key] - got[key], random.Next(1, 15));
            var (next, decision) = FairShare.TryTake(state, key, amount, at.AddMilliseconds(step));
            state = next;
            if (decision.Allowed) got[key] += amount;
            if (state.Used.Values.Sum() > limit) return false;
        }

        // Any key that wanted at least its share and kept asking got at least its share minus one request's size.
        return keys.All(k => demand[k] < limit / 4 || got[k] >= (limit / 4) - 14 || got[k] >= demand[k]);
    }
}
