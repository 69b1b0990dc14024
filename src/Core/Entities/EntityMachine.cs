namespace Gateway.Core.Entities;

/// <summary>
/// The envelope's bookkeeping around a kind's state machine: apply the command, file the reply under the ask id, append
/// what the step raised to the outbox, drop acknowledged outbox items, and forget old replies. Pure.
/// </summary>
public static class EntityMachine
{
    /// <summary>How long a reply is kept for its asker to read (askers give up long before).</summary>
    public static readonly TimeSpan ReplyRetention = TimeSpan.FromSeconds(30);

    /// <summary>At most this many replies are kept (the oldest go first), so a flood of asks cannot grow the state.</summary>
    public const int MaxReplies = 2000;

    /// <summary>At most this many undelivered outbox items are kept (the oldest go first).</summary>
    public const int MaxOutbox = 200;

    public static EntityEnvelope Apply<TState, TCommand, TReply>(EntityKind<TState, TCommand, TReply> kind, EntityEnvelope? envelope, EntityMessage message, DateTimeOffset now)
        where TState : class
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(message);
        var next = envelope ?? new EntityEnvelope();
        var state = kind.StateOf(next);
        next.Budget = next.Limiter = next.Counter = null;
        next.Other = null;
        if (message.Ack is { Count: > 0 } ack)
        {
            var acked = new HashSet<string>(ack, StringComparer.Ordinal);
            next.Outbox.RemoveAll(item => acked.Contains(item.Id));
        }

        if (message.Read is { Count: > 0 } read)
        {
            foreach (var id in read) next.Replies.Remove(id);
        }

        if (message.Commands is { Count: > 0 } commands)
        {
            var replies = new List<EntityItemReply>(commands.Count);
            foreach (var command in commands)
            {
                var (after, reply) = Step(kind, state, command, message.From, next, now);
                state = after;
                replies.Add(reply);
            }

            if (message.AskId is { Length: > 0 } groupId)
                next.Replies[groupId] = new EntityReply(System.Text.Json.JsonSerializer.SerializeToElement(replies, EntityStateJson.Compact), now);
        }
        else if (message.Command is { } json)
        {
            var (after, reply) = Step(kind, state, json, message.From, next, now);
            state = after;
            if (message.AskId is { Length: > 0 } askId) next.Replies[askId] = new EntityReply(reply.Value, now, reply.Error);
        }

        next.State = state is null ? null : kind.SerializeState(state);
        Prune(next, now);
        return next;
    }

    /// <summary>One command: the state after it and its reply; a command the machine refuses changes nothing.</summary>
    private static (TState? State, EntityItemReply Reply) Step<TState, TCommand, TReply>(
        EntityKind<TState, TCommand, TReply> kind, TState? state, string json, string? from, EntityEnvelope envelope, DateTimeOffset now)
        where TState : class
    {
        EntityStep<TState, TReply> step;
        try
        {
            step = kind.Step(state, kind.DeserializeCommand(json), now);
        }
        catch (Exception ex) when (ex is ArgumentException or System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return (state, new EntityItemReply(null, ex.Message));
        }

        if (step.Raised is { Count: > 0 } raised)
        {
            foreach (var item in raised)
            {
                if (envelope.Outbox.Exists(o => o.Id == item.Id)) continue;
                envelope.Outbox.Add(item with { RaisedBy = item.RaisedBy ?? from });
            }
        }

        return (step.State, new EntityItemReply(kind.SerializeReply(step.Reply)));
    }

    private static void Prune(EntityEnvelope envelope, DateTimeOffset now)
    {
        if (envelope.Replies.Count > 0)
        {
            var old = envelope.Replies.Where(r => now - r.Value.At > ReplyRetention).Select(r => r.Key).ToList();
            foreach (var id in old) envelope.Replies.Remove(id);
            if (envelope.Replies.Count > MaxReplies)
            {
                foreach (var id in envelope.Replies.OrderBy(r => r.Value.At).Take(envelope.Replies.Count - MaxReplies).Select(r => r.Key).ToList())
                    envelope.Replies.Remove(id);
            }
        }

        if (envelope.Outbox.Count > MaxOutbox) envelope.Outbox.RemoveRange(0, envelope.Outbox.Count - MaxOutbox);
    }
}
