using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Gateway.Core.Usage;

namespace Gateway.Storage;

public sealed class UsageWriterOptions
{
    /// <summary>Messages written per invocation: the trigger message plus up to this many more drained from the queue
    /// (each message carries up to a few hundred records).</summary>
    public int MaxBatch { get; set; } = 32;

    /// <summary>How long drained messages stay invisible while they are written; on a crash they reappear after it.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A drained message seen this many times is moved to the poison queue instead of retried again.</summary>
    public int MaxDequeueCount { get; set; } = 5;
}

/// <param name="Quarantined">Records that could not be written (invalid, or refused by the table) and went to the poison queue.</param>
public sealed record UsageWriteResult(int Written, int Poisoned, int Quarantined = 0);

/// <summary>
/// The usage writer behind the queue trigger. The trigger hands over one message; the writer drains more from the
/// queue (up to <see cref="UsageWriterOptions.MaxBatch"/>), writes all their records in entity-group batches, and only
/// then deletes the drained messages (the host deletes the trigger message when the function returns). A crash anywhere
/// before the deletes leaves every message to be delivered again, and rewriting is harmless: the request id is the row
/// key and rows are upserted. One bad record never stops the rest: a record that does not decode, or that the table
/// refuses, is quarantined on the poison queue (with a log line from the caller) while the others are written; a
/// message that cannot be read at all, or is past the dequeue limit, goes to the poison queue whole.
/// </summary>
public sealed class UsageQueueWriter(QueueClient queue, QueueClient poison, IUsageRecordStore store, UsageWriterOptions options, Action<string>? onQuarantined = null)
{
    public async Task<UsageWriteResult> ProcessAsync(string triggerMessage, CancellationToken cancellationToken)
    {
        var records = new List<UsageRecord>();
        var poisoned = 0;
        var quarantined = 0;
        var first = await DecodeAsync(triggerMessage, cancellationToken).ConfigureAwait(false);
        if (first is null) poisoned++;
        else
        {
            records.AddRange(first.Records);
            quarantined += first.Rejected.Count;
        }

        var drained = new List<QueueMessage>();
        while (drained.Count < options.MaxBatch)
        {
            var want = Math.Min(32, options.MaxBatch - drained.Count);
            QueueMessage[] messages = await queue.ReceiveMessagesAsync(want, options.VisibilityTimeout, cancellationToken).ConfigureAwait(false);
            if (messages.Length == 0) break;
            drained.AddRange(messages);
            if (messages.Length < want) break;
        }

        var toDelete = new List<QueueMessage>();
        foreach (var message in drained)
        {
            var text = message.Body.ToString();
            var decoded = message.DequeueCount > options.MaxDequeueCount ? null : await DecodeAsync(text, cancellationToken).ConfigureAwait(false);
            if (decoded is null)
            {
                if (message.DequeueCount > options.MaxDequeueCount) await SendToPoisonAsync(text, cancellationToken).ConfigureAwait(false);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                poisoned++;
                continue;
            }

            records.AddRange(decoded.Records);
            quarantined += decoded.Rejected.Count;
            toDelete.Add(message);
        }

        quarantined += await WriteAsync(records, cancellationToken).ConfigureAwait(false);
        foreach (var message in toDelete)
        {
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
        }

        return new UsageWriteResult(records.Count, poisoned, quarantined);
    }

    /// <summary>A message's records (its bad records already quarantined), or null when it went to the poison queue whole.</summary>
    private async Task<UsageMessage?> DecodeAsync(string text, CancellationToken cancellationToken)
    {
        UsageMessage message;
        try
        {
            message = UsageRecordCodec.DecodeMessage(text);
        }
        catch (UsageDecodeException ex)
        {
            onQuarantined?.Invoke($"an unreadable usage message went to the poison queue: {ex.Message}");
            await SendToPoisonAsync(text, cancellationToken).ConfigureAwait(false);
            return null;
        }

        foreach (var (json, reason) in message.Rejected)
        {
            onQuarantined?.Invoke($"a usage record was quarantined: {reason}");
            await SendToPoisonAsync(json, cancellationToken).ConfigureAwait(false);
        }

        return message;
    }

    /// <summary>Writes the records in batches; if the table refuses a batch, writes them one by one and quarantines those it refuses.</summary>
    private async Task<int> WriteAsync(List<UsageRecord> records, CancellationToken cancellationToken)
    {
        try
        {
            await store.WriteAsync(records, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (RequestFailedException ex) when (IsRefusal(ex))
        {
            // one record the table will never take fails its whole batch: find it, keep the rest
        }

        var quarantined = 0;
        foreach (var record in records)
        {
            try
            {
                await store.WriteAsync([record], cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (IsRefusal(ex))
            {
                onQuarantined?.Invoke($"usage record {record.RequestId} was refused by the table ({ex.Status} {ex.ErrorCode}) and quarantined");
                await SendToPoisonAsync(UsageRecordCodec.Encode(record), cancellationToken).ConfigureAwait(false);
                quarantined++;
            }
        }

        return quarantined;
    }

    /// <summary>The table refuses this content for good (a 4xx other than throttling or a timeout): retrying cannot help.</summary>
    private static bool IsRefusal(RequestFailedException ex) => ex.Status is >= 400 and < 500 and not (408 or 409 or 412 or 429);

    private async Task SendToPoisonAsync(string message, CancellationToken cancellationToken)
    {
        await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await poison.SendMessageAsync(message.Length > UsageRecordCodec.MaxMessageChars ? message[..UsageRecordCodec.MaxMessageChars] : message, cancellationToken)
            .ConfigureAwait(false);
    }
}
