using System.Text.Json;
using Gateway.Core.Budgets;
using Gateway.Core.Entities;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Entities;

/// <summary>Asks, grouped asks and grouped signals through a channel that holds entities in memory.</summary>
public sealed class EntityClientTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static EntityClient<BudgetState, BudgetCommand, BudgetCommandResult> Client(TestEntityChannel channel, TimeProvider time) =>
        new(channel, BudgetEntityKind.Instance, time, "i1");

    private static BudgetCommand Configure(decimal limit) => new()
    {
        Op = BudgetOp.Configure,
        Definition = new BudgetDefinition { Scope = BudgetScope.ForTeam("t"), LimitUsd = limit, Leases = new BudgetLeasePolicy { MaxRequestCostUsd = 100m } },
    };

    private static BudgetCommand Reserve(string id, decimal amount) => new() { Op = BudgetOp.Reserve, RequestId = id, AmountUsd = amount, Ttl = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task An_ask_returns_the_entitys_reply_and_the_reply_is_dropped_with_the_next_message()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        var configured = await client.AskAsync("team:t", Configure(10m), TimeSpan.FromSeconds(1), default);
        Assert.Equal(10m, configured!.Snapshot!.LimitUsd);
        var (_, before) = await client.ReadAsync("team:t", default);
        Assert.Single(before!.Replies);

        await client.SignalAsync("team:t", Reserve("r1", 1m), default);
        var (state, after) = await client.ReadAsync("team:t", default);
        Assert.Empty(after!.Replies);
        Assert.True(state!.Reservations.ContainsKey("r1"));
    }

    [Fact]
    public async Task An_ask_the_entity_does_not_answer_in_time_returns_null_and_a_refused_command_throws()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        await client.AskAsync("team:t", Configure(10m), TimeSpan.FromSeconds(1), default);

        channel.Pause();
        var pending = client.AskAsync("team:t", Reserve("r1", 1m), TimeSpan.FromSeconds(1), default);
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);
        for (var i = 0; i < 10 && !pending.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Delay(10);
        }

        Assert.Null(await pending);
        await channel.ResumeAsync();

        // a reservation without an id is refused by the machine: the asker learns why
        await Assert.ThrowsAsync<EntityCommandException>(() => client.AskAsync("team:t", new BudgetCommand { Op = BudgetOp.Reserve, AmountUsd = 1m, Ttl = TimeSpan.FromMinutes(1) },
            TimeSpan.FromSeconds(1), default));
    }

    [Fact]
    public async Task A_signal_that_cannot_be_sent_throws_to_its_caller()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time) { FailBefore = (_, _) => new TimeoutException("unreachable") };
        var client = Client(channel, time);
        await Assert.ThrowsAsync<TimeoutException>(() => client.SignalAsync("team:t", Configure(1m), default));
        await Assert.ThrowsAsync<TimeoutException>(() => client.AskAsync("team:t", Configure(1m), TimeSpan.FromSeconds(1), default));
        await Assert.ThrowsAsync<TimeoutException>(() => client.SignalGroupedAsync("team:t", Configure(1m)));
        await Assert.ThrowsAsync<TimeoutException>(() => client.AskGroupedAsync("team:t", Configure(1m), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Concurrent_grouped_asks_travel_together_and_are_decided_in_order()
    {
        var time = TimeProvider.System;
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        await client.AskAsync("team:t", Configure(10m), TimeSpan.FromSeconds(1), default);
        var before = channel.Messages;

        var replies = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => client.AskGroupedAsync("team:t", Reserve("r" + i, 1m), TimeSpan.FromSeconds(10)))));

        Assert.Equal(10, replies.Count(r => r!.Admitted));
        Assert.All(replies.Where(r => !r!.Admitted), r => Assert.Equal(BudgetRefusal.LimitReached, r!.Refusal));
        Assert.True(channel.Messages - before < 50, $"{channel.Messages - before} messages for 100 asks");
        Assert.Equal(100, channel.Count("budget", "Reserve"));
    }

    [Fact]
    public async Task A_grouped_reply_that_comes_after_its_asker_gave_up_goes_to_the_late_reply_handler()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        await client.AskAsync("team:t", Configure(10m), TimeSpan.FromSeconds(1), default);
        var late = new TaskCompletionSource<BudgetCommandResult>();

        // a first ask is held on its way, so the next two travel together in the message after it
        var release = new TaskCompletionSource();
        var held = 0;
        channel.BeforeSignal = (_, m) => m.Commands is not null && Interlocked.Increment(ref held) == 1 ? release.Task : Task.CompletedTask;
        var first = client.AskGroupedAsync("team:t", Reserve("r0", 1m), TimeSpan.FromSeconds(5));
        while (Volatile.Read(ref held) == 0) await Task.Delay(5);
        // one of the two waits 5 s, the other only 100 ms: it gives up before the message carrying it is even sent
        var patient = client.AskGroupedAsync("team:t", Reserve("r1", 1m), TimeSpan.FromSeconds(5));
        var impatient = client.AskGroupedAsync("team:t", Reserve("r2", 1m), TimeSpan.FromMilliseconds(100), r => late.TrySetResult(r));
        time.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Null(await impatient);

        release.SetResult();
        for (var i = 0; i < 100 && !late.Task.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(20));
            await Task.Delay(5);
        }

        Assert.True((await first)!.Admitted);
        Assert.True((await patient)!.Admitted);
        // the reservation was granted to an asker that had gone: its handler hears of it (and can give it back)
        Assert.True((await late.Task).Admitted);
    }

    [Fact]
    public async Task Grouped_signals_are_sent_together_and_each_caller_learns_its_message_went_out()
    {
        var time = TimeProvider.System;
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        await client.AskAsync("team:t", Configure(1000m), TimeSpan.FromSeconds(1), default);
        var before = channel.Messages;
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => client.SignalGroupedAsync("team:t", new BudgetCommand { Op = BudgetOp.Settle, RequestId = "s" + i, AmountUsd = 1m }))));
        Assert.True(channel.Messages - before < 50, $"{channel.Messages - before} messages for 100 signals");
        var (state, _) = await client.ReadAsync("team:t", default);
        Assert.Equal(100m, state!.SpentUsd);
    }

    [Fact]
    public async Task Many_asks_waiting_on_one_entity_share_one_reader()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var client = Client(channel, time);
        await client.AskAsync("team:t", Configure(100m), TimeSpan.FromSeconds(1), default);
        channel.Pause();
        var asks = Enumerable.Range(0, 50).Select(i => client.AskAsync("team:t", Reserve("r" + i, 1m), TimeSpan.FromSeconds(5), default)).ToList();
        var readsBefore = channel.Inner.Reads;
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Delay(10);
        }

        // one read per interval for all fifty, not fifty
        Assert.InRange(channel.Inner.Reads - readsBefore, 1, 10);
        await channel.ResumeAsync();
        for (var i = 0; i < 100 && asks.Any(a => !a.IsCompleted); i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Delay(5);
        }

        Assert.All(await Task.WhenAll(asks), r => Assert.True(r!.Admitted));
    }
}
