using System.Collections.Concurrent;
using Gateway.Core.Usage;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Usage;

/// <summary>Usage records batched on their way to the queue: few messages, flushed within a second, nothing lost to an outage.</summary>
public sealed class UsageBatcherTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Sender : IUsageBatchSender
    {
        public ConcurrentQueue<IReadOnlyList<UsageRecord>> Sent { get; } = new();
        public volatile bool Down;
        public int Attempts;

        public Task SendAsync(IReadOnlyList<UsageRecord> items, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Attempts);
            if (Down) throw new TimeoutException("the queue is unreachable");
            Sent.Enqueue([.. items]);
            return Task.CompletedTask;
        }

        public IEnumerable<UsageRecord> All => Sent.SelectMany(b => b);
    }

    private static UsageRecord Record(int i) => new() { RequestId = "req_" + i, At = Start, KeyId = "k", Outcome = UsageOutcomes.Success, CostUsd = 0.001m };

    /// <summary>Moves the clock on in small steps until the condition holds (the batcher's loop runs on the thread pool).</summary>
    private static async Task Until(FakeTimeProvider time, Func<bool> condition, TimeSpan limit)
    {
        for (var moved = TimeSpan.Zero; moved < limit && !condition(); moved += TimeSpan.FromMilliseconds(100))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }

        await Task.Delay(20);
    }

    [Fact]
    public async Task Records_go_out_in_one_batch_per_second_not_one_message_each()
    {
        var time = new FakeTimeProvider(Start);
        var sender = new Sender();
        await using var batcher = new UsageBatcher(sender, time, new UsageBatchingOptions());
        for (var i = 0; i < 300; i++) await batcher.SubmitAsync(Record(i), default);
        Assert.Empty(sender.Sent);

        await Until(time, () => !sender.Sent.IsEmpty, TimeSpan.FromSeconds(2));
        Assert.Single(sender.Sent);
        Assert.Equal(300, sender.All.Count());
        Assert.Equal(0, batcher.Spooled);
    }

    [Fact]
    public async Task A_queue_outage_of_a_minute_loses_nothing_and_the_records_go_out_in_order_once_it_is_back()
    {
        var time = new FakeTimeProvider(Start);
        var sender = new Sender { Down = true };
        var failures = 0;
        await using var batcher = new UsageBatcher(sender, time, new UsageBatchingOptions(), onSendFailed: _ => Interlocked.Increment(ref failures));
        for (var second = 0; second < 60; second++)
        {
            for (var i = 0; i < 100; i++) await batcher.SubmitAsync(Record((second * 100) + i), default);
            var attempts = sender.Attempts;
            await Until(time, () => sender.Attempts > attempts, TimeSpan.FromSeconds(6));
        }

        Assert.Empty(sender.Sent);
        Assert.Equal(6000, batcher.Spooled);
        Assert.True(failures > 5);
        sender.Down = false;
        await Until(time, () => batcher.Spooled == 0, TimeSpan.FromSeconds(12));
        Assert.Equal(Enumerable.Range(0, 6000).Select(i => "req_" + i), sender.All.Select(r => r.RequestId));
        Assert.Equal(0, batcher.Dropped);
    }

    [Fact]
    public async Task Past_the_spool_bound_new_records_are_dropped_and_counted()
    {
        var time = new FakeTimeProvider(Start);
        var sender = new Sender { Down = true };
        var dropped = 0;
        await using var batcher = new UsageBatcher(sender, time, new UsageBatchingOptions { MaxSpooledRecords = 100 }, onDropped: n => Interlocked.Add(ref dropped, n));
        for (var i = 0; i < 150; i++) await batcher.SubmitAsync(Record(i), default);
        Assert.Equal(100, batcher.Spooled);
        Assert.Equal(50, batcher.Dropped);
        Assert.Equal(50, dropped);
    }

    [Fact]
    public async Task Stopping_sends_what_is_left_at_once()
    {
        var time = new FakeTimeProvider(Start);
        var sender = new Sender();
        await using var batcher = new UsageBatcher(sender, time, new UsageBatchingOptions());
        for (var i = 0; i < 10; i++) await batcher.SubmitAsync(Record(i), default);
        await batcher.StopAsync(default);
        Assert.Equal(10, sender.All.Count());
    }

    [Fact]
    public void Batch_messages_fit_the_queue_and_carry_every_record_back()
    {
        var records = Enumerable.Range(0, 3000).Select(i => Record(i) with { User = "user-" + i, Tags = new Dictionary<string, string> { ["feature"] = "f" + (i % 7) } }).ToList();
        var messages = UsageRecordCodec.EncodeBatch(records);
        Assert.All(messages, m => Assert.True(m.Length <= UsageRecordCodec.MaxMessageChars, $"{m.Length} characters"));
        Assert.True(messages.Count < 30, $"{messages.Count} messages for 3,000 records");
        var decoded = messages.SelectMany(m => UsageRecordCodec.DecodeMessage(m).Records).ToList();
        Assert.Equal(records.Select(r => r.RequestId), decoded.Select(r => r.RequestId));
        Assert.Equal(records[42].Tags, decoded[42].Tags);
    }

    [Fact]
    public void A_batch_with_a_bad_record_decodes_the_rest_and_names_the_bad_one()
    {
        var message = UsageRecordCodec.EncodeBatch([Record(1), Record(2) with { RequestId = "bad/key" }, Record(3)]).Single();
        var decoded = UsageRecordCodec.DecodeMessage(message);
        Assert.Equal(["req_1", "req_3"], decoded.Records.Select(r => r.RequestId));
        var (json, reason) = Assert.Single(decoded.Rejected);
        Assert.Contains("bad/key", json, StringComparison.Ordinal);
        Assert.Contains("requestId", reason, StringComparison.Ordinal);
        Assert.Throws<UsageDecodeException>(() => UsageRecordCodec.DecodeMessage("U2:!!not base64"));
    }
}
