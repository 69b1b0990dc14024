using System.Globalization;
using System.Text.Json;
using Gateway.Core.RateLimits;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.RateLimits;

public sealed class RateLimiterTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-05-10T12:00:00Z", CultureInfo.InvariantCulture);

    private static RateLimitDecision.Allowed Allowed(RateLimitDecision d) => Assert.IsType<RateLimitDecision.Allowed>(d);

    private static RateLimitDecision.Denied Denied(RateLimitDecision d) => Assert.IsType<RateLimitDecision.Denied>(d);

    [Fact]
    public void Admission_reports_remaining_and_time_to_full()
    {
        var clock = new FakeTimeProvider(T0);
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), clock.GetUtcNow());
        var first = RateLimiter.Admit(state, 1, 100, clock.GetUtcNow());
        Assert.Equal(new RateLimitStatus(60, 1000, 59, 900, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6)), Allowed(first.Result).Status);

        clock.Advance(TimeSpan.FromSeconds(3));
        var later = RateLimiter.GetStatus(first.State, clock.GetUtcNow());
        Assert.Equal(new RateLimitStatus(60, 1000, 60, 950, TimeSpan.Zero, TimeSpan.FromSeconds(3)), later);
    }

    [Fact]
    public void Requests_beyond_the_limit_wait_for_the_refill()
    {
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(60, null), T0);
        for (var i = 0; i < 60; i++) state = RateLimiter.Admit(state, 1, 0, T0).State;
        var denied = Denied(RateLimiter.Admit(state, 1, 0, T0).Result);
        Assert.Equal((RateLimitDenial.Requests, TimeSpan.FromSeconds(1)), (denied.Reason, denied.RetryAfter));
        Assert.Equal(0, denied.Status.RemainingRequests);
        Assert.Null(denied.Status.RemainingTokens);
        Assert.IsType<RateLimitDecision.Denied>(RateLimiter.Admit(state, 1, 0, T0.AddMilliseconds(999)).Result);
        Assert.IsType<RateLimitDecision.Allowed>(RateLimiter.Admit(state, 1, 0, T0.AddSeconds(1)).Result);
    }

    [Fact]
    public void Tokens_wait_exactly_as_long_as_the_shortfall_takes_to_refill()
    {
        var state = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0), 1, 100, T0).State;
        var denied = Denied(RateLimiter.Admit(state, 1, 950, T0).Result);
        Assert.Equal((RateLimitDenial.Tokens, TimeSpan.FromSeconds(3)), (denied.Reason, denied.RetryAfter));
        // Refusal takes nothing.
        Assert.Equal(59, denied.Status.RemainingRequests);
        // A non-integral wait is rounded up to the tick: 7 tokens at 1000/min = 0.42 s.
        var seven = Denied(RateLimiter.Admit(RateLimiter.Admit(state, 1, 900, T0).State, 1, 7, T0).Result);
        Assert.Equal(TimeSpan.FromMilliseconds(420), seven.RetryAfter);
        var odd = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(7, null), T0), 7, 0, T0).State;
        Assert.Equal(TimeSpan.FromTicks(85_714_286), Denied(RateLimiter.Admit(odd, 1, 0, T0).Result).RetryAfter);
    }

    [Fact]
    public void A_request_larger_than_a_limit_is_refused_for_good()
    {
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0);
        var denied = Denied(RateLimiter.Admit(state, 1, 1001, T0).Result);
        Assert.Equal((RateLimitDenial.TooLarge, (TimeSpan?)null), (denied.Reason, denied.RetryAfter));
    }

    [Theory]
    [InlineData(RateLimitDefinition.MaxLimit + 1)]
    [InlineData(-RateLimitDefinition.MaxLimit - 1)]
    public void A_correction_beyond_the_largest_limit_is_refused(long delta)
    {
        // a usage figure that large is a bug upstream, not usage: it must not put the counter years into debt
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0);
        Assert.Throws<ArgumentOutOfRangeException>("deltaTokens", () => RateLimiter.Correct(state, delta, T0));
        // the largest allowed correction is taken as it is
        Assert.Equal(0, RateLimiter.Correct(state, RateLimitDefinition.MaxLimit, T0).Result.RemainingTokens);
    }

    [Fact]
    public void Corrections_charge_refund_and_can_leave_debt()
    {
        var state = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0), 1, 100, T0).State;
        var more = RateLimiter.Correct(state, 200, T0);
        Assert.Equal(700, more.Result.RemainingTokens);
        Assert.Equal(1000, RateLimiter.Correct(more.State, -5000, T0).Result.RemainingTokens);

        var debt = RateLimiter.Correct(state, 1500, T0);
        Assert.Equal(0, debt.Result.RemainingTokens);
        Assert.Equal(TimeSpan.FromSeconds(96), debt.Result.ResetTokens);
        Assert.Equal("1m36s", RateLimitHeaders.FormatDuration(debt.Result.ResetTokens!.Value));
        Assert.Equal(TimeSpan.FromSeconds(36.06), Denied(RateLimiter.Admit(debt.State, 1, 1, T0).Result).RetryAfter);
    }

    [Fact]
    public void Reconfiguring_keeps_what_is_left()
    {
        var state = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0), 10, 600, T0).State;
        var bigger = RateLimiter.Reconfigure(state, RateLimitDefinition.PerMinute(100, 500), T0);
        Assert.Equal((50L, 400L), (RateLimiter.GetStatus(bigger, T0).RemainingRequests!.Value, RateLimiter.GetStatus(bigger, T0).RemainingTokens!.Value));
        var tokensOnly = RateLimiter.Reconfigure(RateLimiter.Create(RateLimitDefinition.PerMinute(10, null), T0), RateLimitDefinition.PerMinute(10, 300), T0);
        Assert.Equal(300, RateLimiter.GetStatus(tokensOnly, T0).RemainingTokens);
    }

    [Fact]
    public void Clock_going_backwards_neither_refills_nor_breaks()
    {
        var state = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(60, null), T0), 30, 0, T0).State;
        Assert.Equal(30, RateLimiter.GetStatus(state, T0.AddSeconds(-10)).RemainingRequests);
        Assert.IsType<RateLimitDecision.Allowed>(RateLimiter.Admit(state, 1, 0, T0.AddSeconds(-10)).Result);
    }

    [Fact]
    public void Headers_are_formatted_as_openai_does()
    {
        var status = new RateLimitStatus(60, 150000, 59, 149984, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(6.4));
        Assert.Equal(
            [
                new("x-ratelimit-limit-requests", "60"),
                new("x-ratelimit-limit-tokens", "150000"),
                new("x-ratelimit-remaining-requests", "59"),
                new("x-ratelimit-remaining-tokens", "149984"),
                new("x-ratelimit-reset-requests", "1s"),
                new("x-ratelimit-reset-tokens", "7ms"),
            ],
            RateLimitHeaders.Format(status));
        var denied = new RateLimitDecision.Denied(status with { RemainingRequests = 0 }, RateLimitDenial.Requests, TimeSpan.FromSeconds(2.2));
        Assert.Equal(new KeyValuePair<string, string>("Retry-After", "3"), RateLimitHeaders.Format(denied)[^1]);
        Assert.Equal(2, RateLimitHeaders.Format(new RateLimitStatus(null, 10, null, 5, null, null)).Count);
    }

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(1L, "1ms")]
    [InlineData(200_000L, "20ms")]
    [InlineData(9_990_000L, "999ms")]
    [InlineData(10_000_000L, "1s")]
    [InlineData(15_000_000L, "1.5s")]
    [InlineData(13_040_000L, "1.304s")]
    [InlineData(598_800_000L, "59.88s")]
    [InlineData(612_000_000L, "1m1.2s")]
    [InlineData(3_600_000_000L, "6m0s")]
    [InlineData(36_000_000_000L, "1h0m0s")]
    [InlineData(36_610_000_000L, "1h1m1s")]
    public void Durations_use_gos_format(long ticks, string expected)
    {
        Assert.Equal(expected, RateLimitHeaders.FormatDuration(TimeSpan.FromTicks(ticks)));
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(2_000_000L, "1")]
    [InlineData(30_000_000L, "3")]
    [InlineData(30_000_001L, "4")]
    public void Retry_after_is_whole_seconds_rounded_up(long ticks, string expected)
    {
        Assert.Equal(expected, RateLimitHeaders.RetryAfterSeconds(TimeSpan.FromTicks(ticks)));
    }

    [Fact]
    public void The_tightest_status_wins_per_dimension()
    {
        var key = new RateLimitStatus(100, 10000, 40, 9000, TimeSpan.FromSeconds(36), TimeSpan.FromSeconds(6));
        var team = new RateLimitStatus(1000, null, 900, null, TimeSpan.FromSeconds(6), null);
        Assert.Equal(new RateLimitStatus(100, 10000, 40, 9000, TimeSpan.FromSeconds(36), TimeSpan.FromSeconds(6)), RateLimitStatus.Tightest(team, key));
        // the order the limiters come in does not matter
        Assert.Equal(RateLimitStatus.Tightest(team, key), RateLimitStatus.Tightest(key, team));
    }

    [Fact]
    public void Each_dimension_comes_from_whichever_status_has_less_left()
    {
        // the first status is tighter on requests, the second on tokens: the result mixes them, limit and reset included
        var a = new RateLimitStatus(100, 50_000, 5, 40_000, TimeSpan.FromSeconds(57), TimeSpan.FromSeconds(12));
        var b = new RateLimitStatus(1000, 10_000, 600, 2_000, TimeSpan.FromSeconds(24), TimeSpan.FromSeconds(48));
        var expected = new RateLimitStatus(100, 10_000, 5, 2_000, TimeSpan.FromSeconds(57), TimeSpan.FromSeconds(48));
        Assert.Equal(expected, RateLimitStatus.Tightest(a, b));
        Assert.Equal(expected, RateLimitStatus.Tightest(b, a));
    }

    [Fact]
    public void State_round_trips_and_version_1_is_upgraded()
    {
        var state = RateLimiter.Admit(RateLimiter.Create(RateLimitDefinition.PerMinute(7, 1000), T0), 1, 333, T0.AddSeconds(1)).State;
        var json = RateLimitStateCodec.Serialize(state);
        var back = RateLimitStateCodec.Deserialize(json);
        Assert.Equal(json, RateLimitStateCodec.Serialize(back));
        Assert.Equal(state.TokenLevel, back.TokenLevel);
        Assert.Equal(RateLimiter.GetStatus(state, T0.AddSeconds(5)), RateLimiter.GetStatus(back, T0.AddSeconds(5)));

        const string v1 = """
            {"definition":{"requestsPerWindow":60,"tokensPerWindow":1000,"window":"00:01:00"},
             "requestsRemaining":59.5,"tokensRemaining":900,"updatedAt":"2026-05-10T12:00:00+00:00"}
            """;
        var upgraded = RateLimitStateCodec.Deserialize(v1);
        Assert.Equal(RateLimitState.CurrentSchemaVersion, upgraded.SchemaVersion);
        Assert.Equal(new RateLimitStatus(60, 1000, 59, 900, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(6)), RateLimiter.GetStatus(upgraded, T0));
        Assert.Throws<JsonException>(() => RateLimitStateCodec.Deserialize("""{"schemaVersion":3}"""));
    }

    [Theory]
    [InlineData(1L, 1L, "00:00:01")]
    [InlineData(RateLimitDefinition.MaxLimit, RateLimitDefinition.MaxLimit, "1.00:00:00")]
    public void Limits_from_one_to_a_trillion_and_windows_from_a_second_to_a_day_are_accepted(long requests, long tokens, string window)
    {
        var definition = RateLimitDefinition.PerMinute(requests, tokens) with { Window = TimeSpan.Parse(window, CultureInfo.InvariantCulture) };
        Assert.Equal(definition, RateLimiter.Create(definition, T0).Definition);
    }

    [Theory]
    [InlineData(0L, null, "00:01:00")]
    [InlineData(RateLimitDefinition.MaxLimit + 1, null, "00:01:00")]
    [InlineData(null, 0L, "00:01:00")]
    [InlineData(null, RateLimitDefinition.MaxLimit + 1, "00:01:00")]
    [InlineData(1L, 1L, "00:00:00.9999999")]
    [InlineData(1L, 1L, "1.00:00:00.0000001")]
    public void A_counter_with_a_limit_or_window_out_of_range_is_not_created(long? requests, long? tokens, string window)
    {
        var definition = RateLimitDefinition.PerMinute(requests, tokens) with { Window = TimeSpan.Parse(window, CultureInfo.InvariantCulture) };
        Assert.Throws<ArgumentException>(() => RateLimiter.Create(definition, T0));
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, -1)]
    [InlineData(RateLimitDefinition.MaxLimit + 1, 0)]
    [InlineData(0, RateLimitDefinition.MaxLimit + 1)]
    public void A_negative_or_oversized_take_is_refused_not_counted(long requests, long tokens)
    {
        // a negative take would put capacity back; one beyond the largest limit is a caller's error, not a denial
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(60, 1000), T0);
        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimiter.Admit(state, requests, tokens, T0));
    }

    [Fact]
    public void A_state_of_a_newer_version_is_refused_even_when_it_reads_as_this_one()
    {
        // a newer writer may mean the same fields differently: this code does not guess
        var state = RateLimiter.Create(RateLimitDefinition.PerMinute(7, 1000), T0);
        var document = System.Text.Json.Nodes.JsonNode.Parse(RateLimitStateCodec.Serialize(state))!.AsObject();
        document["schemaVersion"] = RateLimitState.CurrentSchemaVersion + 1;
        var refused = Assert.Throws<JsonException>(() => RateLimitStateCodec.Deserialize(document.ToJsonString()));
        Assert.Contains("newer than this code", refused.Message);
    }
}
