using Azure.Data.Tables;
using Azure.Storage.Queues;
using Gateway.Core.Usage;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Usage;

/// <summary>The queue → table usage writer against Azurite: idempotent, crash-safe, poison-aware.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class UsageWriterTests(AzuriteFixture azurite)
{
    private sealed record Setup(QueueClient Queue, QueueClient Poison, TableClient Records, TableUsageStore Store);

    private async Task<Setup> NewSetup()
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var name = azurite.UniqueName("usage");
        var queue = connection.Queue(name);
        var poison = connection.Queue(name + "-poison");
        await queue.CreateIfNotExistsAsync();
        var records = connection.Table(name);
        return new Setup(queue, poison, records, new TableUsageStore(records, connection.Table(name + "dirty")));
    }

    /// <summary>What the Functions host does with a queue trigger: receive one message, run the function, delete the
    /// message on success; on failure the message reappears after its visibility timeout.</summary>
    private static async Task RunLikeTheHost(QueueClient queue, Func<string, Task> function, int maxInvocations = 1000)
    {
        for (var invocation = 0; invocation < maxInvocations; invocation++)
        {
            var received = (await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value;
            if (received.Length == 0)
            {
                if ((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0) return;
                await Task.Delay(250);
                continue;
            }

            var message = received[0];
            try
            {
                await function(UsageRecordCodec.FromBase64(message.Body.ToString()));
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
            catch (IOException)
            {
                // The writer died; the host does not delete the message.
            }
        }

        Assert.Fail("the queue never drained");
    }

    private static async Task<int> CountRows(TableClient table)
    {
        var n = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(select: ["RowKey"])) n++;
        return n;
    }

    [Fact]
    public async Task Killing_the_writer_between_batches_and_redelivering_writes_every_record_exactly_once()
    {
        var s = await NewSetup();
        var records = UsageData.Spread(600, DateTimeOffset.Parse("2026-11-20T10:00:00Z"), TimeSpan.FromHours(3));
        var sink = new QueueUsageSink(s.Queue);
        foreach (var r in records) await sink.SubmitAsync(r, default);
        // A client retry that re-sent a record is also harmless.
        await sink.SubmitAsync(records[17], default);

        var crashing = new CrashingStore(s.Store, crashOnCalls: [1, 3, 4]);
        var writer = new UsageQueueWriter(s.Queue, s.Poison, crashing, new UsageWriterOptions { MaxBatch = 150, VisibilityTimeout = TimeSpan.FromSeconds(1) });
        await RunLikeTheHost(s.Queue, m => writer.ProcessAsync(m, default));

        Assert.True(crashing.Crashes >= 3);
        Assert.Equal(records.Count, await CountRows(s.Records));
        var stored = new Dictionary<string, UsageRecord>();
        await foreach (var r in s.Store.ReadRangeAsync(DateTimeOffset.Parse("2026-11-20T00:00:00Z"), DateTimeOffset.Parse("2026-11-21T00:00:00Z"), default)) stored.Add(r.RequestId, r);
        Assert.Equal(records.Select(r => r.RequestId).Order(), stored.Keys.Order());
        Assert.Equal(records.Sum(r => r.CostUsd), stored.Values.Sum(r => r.CostUsd));
        Assert.Equal(records[5] with { Tags = stored[records[5].RequestId].Tags }, stored[records[5].RequestId]);
        Assert.Equal(records[4].Tags, stored[records[4].RequestId].Tags);
        Assert.False(await s.Poison.ExistsAsync());
    }

    [Fact]
    public async Task Bad_messages_go_to_the_poison_queue_and_the_rest_are_written()
    {
        var s = await NewSetup();
        var good = UsageData.Spread(5, DateTimeOffset.Parse("2026-11-20T10:00:00Z"), TimeSpan.FromMinutes(30));
        var sink = new QueueUsageSink(s.Queue);
        foreach (var r in good.Take(3)) await sink.SubmitAsync(r, default);
        await s.Queue.SendMessageAsync(Convert.ToBase64String("{\"requestId\":\"x\"}"u8.ToArray()));
        await s.Queue.SendMessageAsync(Convert.ToBase64String("not json at all"u8.ToArray()));
        await s.Queue.SendMessageAsync(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(UsageRecordCodec.Encode(good[3] with { RequestId = "bad/key#" }))));
        foreach (var r in good.Skip(3)) await sink.SubmitAsync(r, default);

        var writer = new UsageQueueWriter(s.Queue, s.Poison, s.Store, new UsageWriterOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) });
        await RunLikeTheHost(s.Queue, m => writer.ProcessAsync(m, default));

        Assert.Equal(5, await CountRows(s.Records));
        Assert.Equal(3, (await s.Poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task A_message_past_the_dequeue_limit_is_poisoned_not_retried_forever()
    {
        var s = await NewSetup();
        var sink = new QueueUsageSink(s.Queue);
        var start = DateTimeOffset.Parse("2026-11-20T10:00:00Z");
        await sink.SubmitAsync(UsageData.Spread(1, start, TimeSpan.FromMinutes(1), seed: 1)[0], default);
        for (var i = 0; i < 3; i++)
        {
            // Delivered and abandoned three times (a writer that kept dying on it).
            Assert.Single((await s.Queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value);
            await Task.Delay(1100);
        }

        await sink.SubmitAsync(UsageData.Spread(1, start, TimeSpan.FromMinutes(1), seed: 2)[0], default);
        var both = (await s.Queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value;
        var trigger = both.Single(m => m.DequeueCount == 1);
        var stale = both.Single(m => m.DequeueCount == 4);
        await s.Queue.UpdateMessageAsync(stale.MessageId, stale.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        var writer = new UsageQueueWriter(s.Queue, s.Poison, s.Store, new UsageWriterOptions { MaxDequeueCount = 2, VisibilityTimeout = TimeSpan.FromSeconds(1) });
        var result = await writer.ProcessAsync(UsageRecordCodec.FromBase64(trigger.Body.ToString()), default);

        Assert.Equal(new UsageWriteResult(1, 1), result);
        Assert.Equal(1, await CountRows(s.Records));
        Assert.Equal(1, (await s.Poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    /// <summary>Writes part of what it is given, then dies, on the given calls.</summary>
    private sealed class CrashingStore(IUsageRecordStore inner, int[] crashOnCalls) : IUsageRecordStore
    {
        private int _calls;

        public int Crashes { get; private set; }

        public async Task WriteAsync(IReadOnlyList<UsageRecord> batch, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls);
            if (crashOnCalls.Contains(call))
            {
                await inner.WriteAsync(batch.Take(batch.Count / 2).ToList(), cancellationToken);
                Crashes++;
                throw new IOException("the writer was killed between batches");
            }

            await inner.WriteAsync(batch, cancellationToken);
        }

        public IAsyncEnumerable<UsageRecord> ReadBucketAsync(string fiveMinuteKey, CancellationToken cancellationToken) => inner.ReadBucketAsync(fiveMinuteKey, cancellationToken);
        public IAsyncEnumerable<UsageRecord> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) => inner.ReadRangeAsync(from, to, cancellationToken);
        public Task<IReadOnlyList<DirtyBucket>> ReadDirtyAsync(CancellationToken cancellationToken) => inner.ReadDirtyAsync(cancellationToken);
        public Task<bool> ClearDirtyAsync(DirtyBucket bucket, CancellationToken cancellationToken) => inner.ClearDirtyAsync(bucket, cancellationToken);
        public Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => inner.DeleteBeforeAsync(cutoff, cancellationToken);
    }
}
