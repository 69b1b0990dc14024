using System.Collections.Concurrent;
using Gateway.Core.RateLimits;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Gateway.Core.Tests.RateLimits;

/// <summary>The instance side of rate limits: allotments far from the limit, one at a time near it, accuracy over a minute.</summary>
public sealed class RateLimitGateTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1.5);

    private static RateLimitOptions Options(long? rpm, long? tpm) => new() { KeyRequestsPerMinute = rpm, KeyTokensPerMinute = tpm };

    [Fact]
    public async Task Without_limits_nothing_is_counted()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = new RateLimitGate(channel, time, new RateLimitOptions());
        Assert.Empty(gate.CountersFor("key_1", "gpt-4o"));
        var admission = await gate.AdmitAsync([], 100, Window, default);
        Assert.Same(RateLimitAdmission.Unlimited, admission);
        // admitted, with nothing to report: no x-ratelimit headers, no Retry-After, not refused by any counter
        Assert.True(admission.Allowed);
        Assert.False(admission.TooLarge);
        Assert.False(admission.Undecided);
        Assert.Null(admission.Status);
        Assert.Null(admission.RetryAfter);
        Assert.Null(admission.RefusedBy);
        Assert.Equal(0, channel.Messages);
    }

    [Fact]
    public async Task Far_from_the_limit_most_requests_are_admitted_from_a_local_allotment()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = new RateLimitGate(channel, time, Options(6000, null));
        var counters = gate.CountersFor("key_1", "gpt-4o");
        for (var i = 0; i < 200; i++)
        {
            Assert.True((await gate.AdmitAsync(counters, 10, Window, default)).Allowed);
            time.Advance(TimeSpan.FromMilliseconds(2));
        }

        // allotments of 5% (300 requests), the next fetched once a quarter of this one is left
        Assert.True(channel.Count("ratelimit") <= 2, $"{channel.Count("ratelimit")} takes for 200 requests");
    }

    [Fact]
    public async Task Allotments_follow_demand_so_steady_traffic_far_below_a_large_limit_never_drains_the_counter()
    {
        // 500 requests a second for a minute against 10,000,000 a minute: fixed 5 % allotments (500,000 a second, lost
        // when they expire) drained the bucket in about 20 s, after which every request was decided one at a time
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = new RateLimitGate(channel, time, Options(10_000_000, null));
        var counters = gate.CountersFor("key_1", "gpt-4o");
        RateLimitAdmission last = null!;
        for (var i = 0; i < 30_000; i++)
        {
            last = await gate.AdmitAsync(counters, 10, Window, default);
            Assert.True(last.Allowed);
            time.Advance(TimeSpan.FromMilliseconds(2));
            if (i % 50 == 0) await Task.Delay(1); // lets a background fetch land, as it would between requests
        }

        var takes = channel.Count("ratelimit");
        output.WriteLine($"{takes} takes for 30,000 requests; {last.Status!.RemainingRequests:N0} of 10,000,000 left");
        Assert.True(takes <= 200, $"{takes} takes for 30,000 requests over a minute");
        // what the counter gave out is within 1.5 × the traffic plus the first (share-sized) allotment
        Assert.True(last.Status.RemainingRequests >= 10_000_000 - 500_000 - (long)(30_000 * 1.5), $"{last.Status.RemainingRequests} left");
    }

    [Fact]
    public async Task At_the_limit_requests_are_refused_with_a_retry_after_and_headers_count_down()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, Options(3, 1000));
        var counters = gate.CountersFor("key_1", "m");
        var first = await gate.AdmitAsync(counters, 100, Window, default);
        Assert.True(first.Allowed);
        Assert.False(first.TooLarge);
        Assert.Equal(3, first.Status!.LimitRequests);
        Assert.Equal(2, first.Status.RemainingRequests);
        Assert.Equal(900, first.Status.RemainingTokens);
        Assert.True((await gate.AdmitAsync(counters, 100, Window, default)).Allowed);
        Assert.True((await gate.AdmitAsync(counters, 100, Window, default)).Allowed);

        var refused = await gate.AdmitAsync(counters, 100, Window, default);
        Assert.False(refused.Allowed);
        Assert.Equal("key:key_1", refused.RefusedBy);
        Assert.False(refused.Undecided); // the counter answered: refused by the limit, not for want of an answer
        Assert.Equal(TimeSpan.FromSeconds(20), refused.RetryAfter); // one request refills every 20 s at 3 per minute
        Assert.Equal(0, refused.Status!.RemainingRequests);

        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True((await gate.AdmitAsync(counters, 100, Window, default)).Allowed);
    }

    [Fact]
    public async Task Near_the_limit_each_request_is_decided_by_the_counter_and_the_headers_count_down_to_zero()
    {
        // 8 a minute: allotments of one request while over a quarter is left, then each request asks the counter
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, Options(8, null));
        var counters = gate.CountersFor("key_1", "m");
        var admitted = new List<RateLimitAdmission>();
        RateLimitAdmission last;
        while ((last = await gate.AdmitAsync(counters, 10, Window, default)).Allowed) admitted.Add(last);

        Assert.Equal(8, admitted.Count);
        // the last two were decided by the counter one at a time: each reports what it had left after that request
        Assert.Equal([1L, 0L], admitted.TakeLast(2).Select(a => a.Status!.RemainingRequests!.Value));
        Assert.False(last.Undecided);
        Assert.Equal(0, last.Status!.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(7.5), last.RetryAfter); // one request refills every 7.5 s at 8 per minute
    }

    [Fact]
    public async Task When_the_counter_has_room_again_an_instance_goes_back_to_allotments()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = new RateLimitGate(channel, time, Options(100, null));
        var counters = gate.CountersFor("key_1", "m");
        while ((await gate.AdmitAsync(counters, 10, Window, default)).Allowed)
        {
        }

        // a minute later the bucket is full again: the first request, asked one at a time, learns that there is plenty,
        // and the instance takes allotments again instead of asking the counter about every request
        time.Advance(TimeSpan.FromMinutes(1));
        var before = channel.Count("ratelimit");
        for (var i = 0; i < 40; i++) Assert.True((await gate.AdmitAsync(counters, 10, Window, default)).Allowed);
        var takes = channel.Count("ratelimit") - before;
        output.WriteLine($"{takes} takes for 40 requests after the refill");
        Assert.True(takes <= 20, $"{takes} takes for 40 requests");
    }

    [Fact]
    public async Task Near_the_limit_concurrent_requests_are_asked_about_together_not_one_message_each()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var options = Options(100, null);
        // another instance has used 80 of the 100; this one's first allotment leaves the counter under a quarter
        var other = new RateLimitGate(channel, time, options);
        for (var i = 0; i < 80; i++) Assert.True((await other.AdmitAsync(other.CountersFor("key_1", "m"), 10, Window, default)).Allowed);
        var gate = new RateLimitGate(channel, time, options);
        var counters = gate.CountersFor("key_1", "m");
        for (var i = 0; i < 5; i++) Assert.True((await gate.AdmitAsync(counters, 10, Window, default)).Allowed);

        // the counter holds back its answers: the first ask goes out, the others wait for the next message together
        channel.Pause();
        var messages = channel.Messages;
        var pending = Enumerable.Range(0, 8).Select(_ => gate.AdmitAsync(counters, 10, Window, default)).ToList();
        while (channel.Messages == messages) await Task.Delay(5);
        await Task.Delay(100); // room for more messages, if each request sent its own
        Assert.Equal(1, channel.Messages - messages);
        Assert.All(pending, p => Assert.False(p.IsCompleted));
    }

    [Fact]
    public async Task An_allotment_the_counter_cannot_fill_still_lets_the_request_that_asked_for_it_through_and_counts_its_tokens()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var options = Options(100, 1_000_000);
        // another instance leaves 3 of the 100 requests (it decides the last quarter one request at a time)
        var other = new RateLimitGate(channel, time, options);
        for (var i = 0; i < 97; i++) Assert.True((await other.AdmitAsync(other.CountersFor("key_1", "m"), 10, Window, default)).Allowed);

        // a new instance asks for an allotment of 5: it does not fit, the request itself does, in the same take (its
        // tokens granted with it, not a request without tokens and a second take for them)
        var gate = new RateLimitGate(channel, time, options);
        var takes = channel.Count("ratelimit");
        var admission = await gate.AdmitAsync(gate.CountersFor("key_1", "m"), 100, Window, default);
        Assert.True(admission.Allowed);
        Assert.Equal(1, channel.Count("ratelimit") - takes);
        Assert.Equal(2, admission.Status!.RemainingRequests);
        Assert.Equal(1_000_000 - (97 * 10) - 100, admission.Status.RemainingTokens);
    }

    [Fact]
    public async Task Far_from_the_limit_the_headers_count_what_was_admitted_not_what_the_instance_took()
    {
        // the first request takes an allotment of 300 requests and 30,000 tokens (5 %); the headers still say that one
        // request and its 100 tokens are gone, as the counter's figures plus what this instance holds
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, Options(6000, 600_000));
        var first = await gate.AdmitAsync(gate.CountersFor("key_1", "m"), 100, Window, default);
        Assert.True(first.Allowed);
        Assert.Equal((5999L, 599_900L), (first.Status!.RemainingRequests!.Value, first.Status.RemainingTokens!.Value));
    }

    [Fact]
    public async Task A_counter_that_does_not_answer_within_the_window_leaves_the_request_undecided()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = new RateLimitGate(channel, time, Options(100, null));
        var counters = gate.CountersFor("key_1", "m");

        channel.Pause();
        var pending = gate.AdmitAsync(counters, 10, Window, default);
        while (channel.Count("ratelimit") < 1) await Task.Delay(5);
        time.Advance(TimeSpan.FromSeconds(2));
        var admission = await pending;

        Assert.False(admission.Allowed);
        Assert.True(admission.Undecided); // not refused by the limit: nothing is known about it, so no headers
        Assert.Null(admission.Status);
        Assert.Equal("key:key_1", admission.RefusedBy);
        Assert.Equal(TimeSpan.FromSeconds(1), admission.RetryAfter);
    }

    [Theory]
    [InlineData(10, 1000)]
    [InlineData(1000, 10)]
    public async Task The_headers_show_the_tightest_counter_whichever_is_asked_first(long keyRpm, long keyModelRpm)
    {
        var time = new FakeTimeProvider(Start);
        var options = new RateLimitOptions { KeyRequestsPerMinute = keyRpm, KeyModelRequestsPerMinute = keyModelRpm };
        var gate = new RateLimitGate(new TestEntityChannel(time), time, options);
        var admission = await gate.AdmitAsync(gate.CountersFor("k", "m"), 10, Window, default);
        Assert.True(admission.Allowed);
        Assert.Equal((10L, 9L), (admission.Status!.LimitRequests!.Value, admission.Status.RemainingRequests!.Value));
    }

    [Fact]
    public async Task A_request_larger_than_the_token_limit_is_refused_without_a_wait()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, Options(null, 1000));
        var refused = await gate.AdmitAsync(gate.CountersFor("k", "m"), 5000, Window, default);
        Assert.False(refused.Allowed);
        Assert.True(refused.TooLarge);
        Assert.Null(refused.RetryAfter);
    }

    [Fact]
    public async Task Per_model_counters_are_separate_and_key_overrides_replace_the_defaults()
    {
        var time = new FakeTimeProvider(Start);
        var options = new RateLimitOptions { KeyModelRequestsPerMinute = 1, Keys = { ["vip"] = new KeyRateLimitOptions { ModelRequestsPerMinute = 100 } } };
        var gate = new RateLimitGate(new TestEntityChannel(time), time, options);
        Assert.True((await gate.AdmitAsync(gate.CountersFor("k", "a"), 1, Window, default)).Allowed);
        Assert.False((await gate.AdmitAsync(gate.CountersFor("k", "a"), 1, Window, default)).Allowed);
        Assert.True((await gate.AdmitAsync(gate.CountersFor("k", "b"), 1, Window, default)).Allowed);
        for (var i = 0; i < 10; i++) Assert.True((await gate.AdmitAsync(gate.CountersFor("vip", "a"), 1, Window, default)).Allowed);
    }

    [Fact]
    public async Task Corrections_refund_unused_tokens_with_the_next_call()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new RateLimitGate(new TestEntityChannel(time), time, Options(null, 1000));
        var counters = gate.CountersFor("k", "m");
        Assert.True((await gate.AdmitAsync(counters, 900, Window, default)).Allowed);
        Assert.False((await gate.AdmitAsync(counters, 900, Window, default)).Allowed);
        gate.Correct(counters, -800); // the request used 100 of its 900
        Assert.True((await gate.AdmitAsync(counters, 900, Window, default)).Allowed);
    }

    /// <summary>
    /// A minute of mixed traffic from four instances, far more than the limit allows, in 50 ms steps. The stated
    /// bound: over any interval t from the start, admitted ≤ limit + limit × t / window (a full bucket plus its
    /// refill), for requests and for tokens (estimates corrected to the real counts); and while saturated the limit is
    /// used up to what instances took but did not use (one allotment per instance per second).
    /// </summary>
    [Fact]
    public async Task Over_a_minute_of_mixed_traffic_admitted_requests_and_tokens_stay_within_the_stated_bound()
    {
        const long rpm = 600, tpm = 120_000;
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var options = Options(rpm, tpm);
        var gates = Enumerable.Range(0, 4).Select(_ => new RateLimitGate(channel, time, options)).ToArray();
        var random = new Random(11);
        long admitted = 0, admittedTokens = 0;
        var perStep = new List<(double Seconds, long Requests, long Tokens)>();

        for (var step = 0; step < 2400; step++)
        {
            long stepRequests = 0, stepTokens = 0;
            foreach (var gate in gates)
            {
                var counters = gate.CountersFor("shared-key", "gpt-4o");
                for (var i = 0; i < 2; i++)
                {
                    var estimate = random.Next(50, 400);
                    var admission = await gate.AdmitAsync(counters, estimate, Window, default);
                    if (!admission.Allowed) continue;
                    var actual = random.Next(estimate / 2, estimate + 1);
                    gate.Correct(counters, actual - estimate);
                    stepRequests++;
                    stepTokens += actual;
                }
            }

            admitted += stepRequests;
            admittedTokens += stepTokens;
            perStep.Add((Math.Round(step * 0.05, 2), admitted, admittedTokens));
            time.Advance(TimeSpan.FromMilliseconds(50));
        }

        foreach (var (seconds, requests, tokens) in perStep)
        {
            var t = Math.Round(seconds + 0.05, 2);
            Assert.True(requests <= rpm + (long)(rpm * t / 60), $"{requests} requests by {t:0.00} s");
            Assert.True(tokens <= tpm + (long)(tpm * t / 60), $"{tokens} tokens by {t:0.00} s");
        }

        var firstMinute = perStep.Single(p => p.Seconds == 59.95);
        var (secondMinuteRequests, secondMinuteTokens) = (admitted - firstMinute.Requests, admittedTokens - firstMinute.Tokens);
        output.WriteLine($"first minute (from full buckets): {firstMinute.Requests} requests, {firstMinute.Tokens} tokens; " +
            $"second minute (saturated): {secondMinuteRequests} requests (limit {rpm}), {secondMinuteTokens} tokens (limit {tpm})");
        // saturated, a minute admits the refill: the limit, give or take what was left in the bucket or taken unused
        var slack = 4 * (long)(rpm * options.AllotmentShare);
        Assert.InRange(secondMinuteRequests, rpm - slack, rpm + slack);
        Assert.True(secondMinuteTokens <= tpm + (tpm / 20), $"{secondMinuteTokens} tokens in the second minute");
        // demand (8 per 50 ms, 9,600 a minute) far exceeds the limit: the limit is used, not left idle by allotments
        Assert.True(admitted >= rpm, $"only {admitted} requests admitted in a saturated minute");
    }
}
