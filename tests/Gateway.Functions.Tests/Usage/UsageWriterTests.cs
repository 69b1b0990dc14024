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

    /// <summary>Sends records as the gateway does: in batch messages (here at most <paramref name="perMessage"/> records each).</summary>
    private static async Task SendAsync(QueueClient queue, IEnumerable<UsageRecord> records, int perMessage = 10)
    {
        var sender = new QueueUsageBatchSender(queue);
        foreach (var chunk in records.Chunk(perMessage)) await sender.SendAsync(chunk, default);
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
        await SendAsync(s.Queue, records);
        // A batch sent again (a send that failed after the queue took it) is also harmless.
        await SendAsync(s.Queue, records.Skip(15).Take(5));

        var crashing = new CrashingStore(s.Store, crashOnCalls: [1, 3, 4]);
        var writer = new UsageQueueWriter(s.Queue, s.Poison, crashing, new UsageWriterOptions { MaxBatch = 15, VisibilityTimeout = TimeSpan.FromSeconds(1) });
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
    public async Task At_eight_concurrent_clients_the_batcher_sends_at_most_one_message_per_twenty_requests_and_every_record_arrives()
    {
        var s = await NewSetup();
        await using var batcher = new UsageBatcher(new QueueUsageBatchSender(s.Queue), TimeProvider.System, new UsageBatchingOptions());
        var records = UsageData.Spread(2000, DateTimeOffset.Parse("2026-11-20T10:00:00Z"), TimeSpan.FromMinutes(10));
        // eight clients, each finishing a request every ~2 ms for half a second or so
        await Task.WhenAll(Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            foreach (var r in records.Where((_, i) => i % 8 == c))
            {
                await batcher.SubmitAsync(r, default);
                await Task.Delay(2);
            }
        })));
        await batcher.StopAsync(default);

        var messages = (await s.Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        Assert.InRange(messages, 1, records.Count / 20);
        var writer = new UsageQueueWriter(s.Queue, s.Poison, s.Store, new UsageWriterOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) });
        await RunLikeTheHost(s.Queue, m => writer.ProcessAsync(m, default));
        Assert.Equal(records.Count, await CountRows(s.Records));
    }

    [Fact]
    public async Task Bad_messages_go_to_the_poison_queue_and_the_rest_are_written()
    {
        var s = await NewSetup();
        var good = UsageData.Spread(5, DateTimeOffset.Parse("2026-11-20T10:00:00Z"), TimeSpan.FromMinutes(30));
        await SendAsync(s.Queue, good.Take(3));
        await s.Queue.SendMessageAsync(Convert.ToBase64String("{\"requestId\":\"x\"}"u8.ToArray()));
        await s.Queue.SendMessageAsync(Convert.ToBase64String("not json at all"u8.ToArray()));
        await s.Queue.SendMessageAsync(Convert.ToBase64String("U2:not gzip"u8.ToArray()));
        // a record as the gateway sent them before batching (one per message) is still read
        await s.Queue.SendMessageAsync(UsageRecordCodec.ToBase64(good[3]));
        await SendAsync(s.Queue, good.Skip(4));

        var quarantined = new List<string>();
        var writer = new UsageQueueWriter(s.Queue, s.Poison, s.Store, new UsageWriterOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) }, quarantined.Add);
        await RunLikeTheHost(s.Queue, m => writer.ProcessAsync(m, default));

        Assert.Equal(5, await CountRows(s.Records));
        Assert.Equal(3, (await s.Poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(3, quarantined.Count);
    }

    [Fact]
    public async Task One_bad_record_in_a_batch_is_quarantined_and_the_rest_of_the_batch_is_written()
    {
        var s = await NewSetup();
        var records = UsageData.Spread(40, DateTimeOffset.Parse("2026-11-20T10:00:00Z"), TimeSpan.FromMinutes(4)).ToList();
        // one record that cannot even be a row (its key), and one the table refuses (a property over 64 KiB)
        records[7] = records[7] with { RequestId = "bad/key#" };
        records[21] = records[21] with { KeyName = new string('k', 40_000) };
        await SendAsync(s.Queue, records, perMessage: 40);

        var quarantined = new List<string>();
        var writer = new UsageQueueWriter(s.Queue, s.Poison, s.Store, new UsageWriterOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) }, quarantined.Add);
        await RunLikeTheHost(s.Queue, m => writer.ProcessAsync(m, default));

        Assert.Equal(38, await CountRows(s.Records));
        Assert.Equal(2, (await s.Poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(2, quarantined.Count);
        Assert.Contains(quarantined, q => q.Contains(records[21].RequestId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_message_past_the_dequeue_limit_is_poisoned_not_retried_forever()
    {
        var s = await NewSetup();
        var start = DateTimeOffset.Parse("2026-11-20T10:00:00Z");
        await SendAsync(s.Queue, [UsageData.Spread(1, start, TimeSpan.FromMinutes(1), seed: 1)[0]]);
        for (var i = 0; i < 3; i++)
        {
            // Delivered and abandoned three times (a writer that kept dying on it).
            Assert.Single((await s.Queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value);
            await Task.Delay(1100);
        }

        await SendAsync(s.Queue, [UsageData.Spread(1, start, TimeSpan.FromMinutes(1), seed: 2)[0]]);
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
