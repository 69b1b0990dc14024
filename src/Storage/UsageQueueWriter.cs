using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Gateway.Core.Usage;

namespace Gateway.Storage;

public sealed class UsageWriterOptions
{
    /// <summary>Records written per invocation: the trigger message plus up to this many more drained from the queue.</summary>
    public int MaxBatch { get; set; } = 256;

    /// <summary>How long drained messages stay invisible while they are written; on a crash they reappear after it.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A drained message seen this many times is moved to the poison queue instead of retried again.</summary>
    public int MaxDequeueCount { get; set; } = 5;
}

public sealed record UsageWriteResult(int Written, int Poisoned);

/// <summary>
/// The usage writer behind the queue trigger. The trigger hands over one message; the writer drains more from the
/// queue (up to <see cref="UsageWriterOptions.MaxBatch"/>), writes them all in entity-group batches, and only then
/// deletes the drained messages (the host deletes the trigger message when the function returns). A crash anywhere
/// before the deletes leaves every message to be delivered again, and rewriting is harmless: the request id is the
/// row key and rows are upserted. Undecodable messages and messages past the dequeue limit go to the poison queue.
/// </summary>
public sealed class UsageQueueWriter(QueueClient queue, QueueClient poison, IUsageRecordStore store, UsageWriterOptions options)
{
    public async Task<UsageWriteResult> ProcessAsync(string triggerMessage, CancellationToken cancellationToken)
    {
        var records = new List<UsageRecord>();
        var poisoned = 0;
        if (TryDecode(triggerMessage, out var first)) records.Add(first);
        else
        {
            await SendToPoisonAsync(triggerMessage, cancellationToken).ConfigureAwait(false);
            poisoned++;
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
            if (message.DequeueCount > options.MaxDequeueCount || !TryDecode(text, out var record))
            {
                await SendToPoisonAsync(text, cancellationToken).ConfigureAwait(false);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                poisoned++;
                continue;
            }

            records.Add(record);
            toDelete.Add(message);
        }

        await store.WriteAsync(records, cancellationToken).ConfigureAwait(false);
        foreach (var message in toDelete)
        {
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
        }

        return new UsageWriteResult(records.Count, poisoned);
    }

    private static bool TryDecode(string message, out UsageRecord record)
    {
        try
        {
            // The trigger gives the decoded text; drained messages arrive as the base64 the sink sent.
            var json = message.TrimStart().StartsWith('{') ? message : UsageRecordCodec.FromBase64(message);
            record = UsageRecordCodec.Decode(json);
            return true;
        }
        catch (UsageDecodeException)
        {
            record = null!;
            return false;
        }
    }

    private async Task SendToPoisonAsync(string message, CancellationToken cancellationToken)
    {
        await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await poison.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
