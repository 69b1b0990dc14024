using System.Globalization;
using Gateway.Core.RateLimits;

namespace Gateway.Core.Tests.RateLimits;

/// <summary>The rate-limit entity's behaviour (<see cref="RateLimitCommands.Apply"/>), command by command.</summary>
public sealed class RateLimitCommandsTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-05-10T12:00:00Z", CultureInfo.InvariantCulture);

    private static RateLimitCommand Take(RateLimitDefinition definition, long requests, long tokens, long fallbackRequests = 0, long fallbackTokens = 0) =>
        new() { Op = RateLimitOp.Take, Definition = definition, Requests = requests, Tokens = tokens, FallbackRequests = fallbackRequests, FallbackTokens = fallbackTokens };

    [Fact]
    public void A_counter_takes_new_limits_as_soon_as_a_command_carries_them()
    {
        var old = RateLimitDefinition.PerMinute(60, 1000);
        var (state, _) = RateLimitCommands.Apply(null, Take(old, 10, 100), T0);

        var raised = RateLimitDefinition.PerMinute(120, 2000);
        var (next, result) = RateLimitCommands.Apply(state, new RateLimitCommand { Op = RateLimitOp.Status, Definition = raised }, T0);
        Assert.Equal(raised, next.Definition);
        // the limits are the new ones; what was used stays used (50 of 60 requests left, capped at the new limit)
        Assert.Equal((120L, 2000L), (result.Status.LimitRequests!.Value, result.Status.LimitTokens!.Value));
        Assert.Equal((50L, 900L), (result.Status.RemainingRequests!.Value, result.Status.RemainingTokens!.Value));

        // the same limits again change nothing
        var (same, again) = RateLimitCommands.Apply(next, new RateLimitCommand { Op = RateLimitOp.Status, Definition = raised }, T0);
        Assert.Equal(next, same);
        Assert.Equal(result.Status, again.Status);
    }

    [Fact]
    public void When_a_batch_no_longer_fits_the_request_that_asked_for_it_still_may()
    {
        var limits = RateLimitDefinition.PerMinute(60, 100_000);
        var (state, _) = RateLimitCommands.Apply(null, Take(limits, 50, 500), T0);

        // a batch of 20 does not fit in the 10 requests left; the one request behind it does, and only it is granted
        var (next, result) = RateLimitCommands.Apply(state, Take(limits, 20, 2000, fallbackRequests: 1, fallbackTokens: 100), T0);
        Assert.True(result.Allowed);
        Assert.Equal((1L, 100L), (result.GrantedRequests, result.GrantedTokens));
        Assert.Equal(9, result.Status.RemainingRequests);

        // without a fallback the batch is refused and nothing is taken
        var (unchanged, refused) = RateLimitCommands.Apply(next, Take(limits, 20, 2000), T0);
        Assert.False(refused.Allowed);
        Assert.Equal((0L, 0L), (refused.GrantedRequests, refused.GrantedTokens));
        Assert.Equal(9, refused.Status.RemainingRequests);
        Assert.Equal(next.RequestLevel, unchanged.RequestLevel);
    }

    [Fact]
    public void A_take_is_decided_up_to_its_decide_by_time_and_refused_untaken_after_it()
    {
        var limits = RateLimitDefinition.PerMinute(60, null);
        var (state, _) = RateLimitCommands.Apply(null, Take(limits, 1, 0), T0);

        // reaching the counter at its decide-by time: still decided
        var (taken, onTime) = RateLimitCommands.Apply(state, Take(limits, 1, 0) with { DecideBy = T0 }, T0);
        Assert.True(onTime.Allowed);
        Assert.Equal(58, onTime.Status.RemainingRequests);

        // a tick later its sender has stopped waiting: refused, nothing taken
        var (after, late) = RateLimitCommands.Apply(taken, Take(limits, 1, 0) with { DecideBy = T0 }, T0.AddTicks(1));
        Assert.False(late.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), late.RetryAfter);
        Assert.Equal((0L, 0L), (late.GrantedRequests, late.GrantedTokens));
        Assert.Equal(taken.RequestLevel, after.RequestLevel);
    }
}
