using System.Globalization;
using FsCheck.Xunit;
using Gateway.Core.RateLimits;

namespace Gateway.Core.Tests.RateLimits;

/// <summary>
/// A simulated minute (and a few) of mixed traffic: bursts and lulls, small and large token estimates, corrections
/// up and down. Checks the documented bound: over any interval t, admitted ≤ limit + ⌊limit × t / window⌋.
/// </summary>
public sealed class RateLimitSimulationTests
{
    private const long Rpm = 50;
    private const long Tpm = 4000;
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-05-10T12:00:00Z", CultureInfo.InvariantCulture);

    private static long Bound(long limit, TimeSpan interval) => limit + (long)((decimal)limit * interval.Ticks / TimeSpan.TicksPerMinute);

    [Property(MaxTest = 100)]
    public bool Admitted_requests_and_tokens_stay_within_the_bound_over_every_interval(int seed)
    {
        var random = new System.Random(seed);
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(Rpm, Tpm), T0);
        var admitted = new List<(DateTimeOffset At, long Tokens)>();
        var now = T0;
        var end = T0.AddMinutes(3);
        while (now < end)
        {
            // Bursts (many requests within milliseconds) alternate with lulls.
            now += random.Next(4) == 0 ? TimeSpan.FromMilliseconds(random.Next(1000, 8000)) : TimeSpan.FromMilliseconds(random.Next(0, 300));
            var tokens = random.Next(3) == 0 ? random.Next(300, 900) : random.Next(1, 60);
            var outcome = RateLimiter.Admit(state, 1, tokens, now);
            state = outcome.State;
            if (outcome.Result is RateLimitDecision.Allowed) admitted.Add((now, tokens));
        }

        for (var i = 0; i < admitted.Count; i++)
        {
            long requests = 0, tokens = 0;
            for (var j = i; j < admitted.Count; j++)
            {
                requests++;
                tokens += admitted[j].Tokens;
                var interval = admitted[j].At - admitted[i].At;
                if (requests > Bound(Rpm, interval) || tokens > Bound(Tpm, interval)) return false;
            }
        }

        return true;
    }

    [Fact]
    public void A_saturated_minute_admits_between_the_limit_and_twice_the_limit()
    {
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(Rpm, null), T0);
        var admitted = 0;
        for (var ms = 0; ms < 60_000; ms += 100)
        {
            var outcome = RateLimiter.Admit(state, 1, 0, T0.AddMilliseconds(ms));
            state = outcome.State;
            if (outcome.Result is RateLimitDecision.Allowed) admitted++;
        }

        // A full bucket (50) plus the refill of 59.9 s (49.9 → 49 whole requests).
        Assert.Equal(99, admitted);
        Assert.InRange(admitted, Rpm, 2 * Rpm);
    }

    [Fact]
    public void Charged_tokens_include_corrections_and_debt_is_waited_out()
    {
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(null, Tpm), T0);
        long charged = 0;
        var random = new System.Random(7);
        for (var ms = 0; ms < 60_000; ms += 250)
        {
            var now = T0.AddMilliseconds(ms);
            var estimate = random.Next(10, 200);
            var outcome = RateLimiter.Admit(state, 1, estimate, now);
            state = outcome.State;
            if (outcome.Result is not RateLimitDecision.Allowed) continue;
            var delta = random.Next(-estimate, 2 * estimate);
            state = RateLimiter.Correct(state, delta, now).State;
            charged += estimate + delta;
        }

        // Charged = full bucket + refill over 60 s − what is left (negative when in debt): exactly.
        var level = state.TokenLevel / TimeSpan.TicksPerMinute;
        var refill = (decimal)Tpm * (state.UpdatedAt - T0).Ticks / TimeSpan.TicksPerMinute;
        Assert.Equal(Tpm + refill - level, charged);
        Assert.True(charged <= (2 * Tpm) - Math.Min(0m, level));
    }
}
