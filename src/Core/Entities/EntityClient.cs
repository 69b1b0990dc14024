using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gateway.Core.Entities;

/// <summary>
/// This instance's typed access to the entities of one kind.
/// <list type="bullet">
/// <item><see cref="SignalAsync"/> sends a command and returns once it is durably queued.</item>
/// <item><see cref="AskAsync"/> sends a command with an ask id and waits — never past the caller's deadline — for the
/// entity to file its reply. While any ask on an entity waits, one reader per entity reads its envelope every
/// <see cref="IEntityChannel.ReadInterval"/> and answers every waiting ask it finds a reply for, so a hundred requests
/// waiting on one budget cost one read per interval, not a hundred.</item>
/// <item><see cref="AskGroupedAsync"/> and <see cref="SignalGroupedAsync"/> commit in groups: the first caller's command
/// goes at once; callers that arrive while it is in flight are sent together in the next message, which the entity
/// applies in order, one command at a time. Near a limit, where every request is decided by the entity, two hundred
/// concurrent requests cost a few messages instead of two hundred.</item>
/// </list>
/// </summary>
public sealed class EntityClient<TState, TCommand, TReply>(IEntityChannel channel, EntityKind<TState, TCommand, TReply> kind, TimeProvider time, string instanceId)
    where TState : class
{
    /// <summary>The most commands sent in one grouped message (keeps messages and replies small).</summary>
    public const int MaxGroup = 256;

    private readonly ConcurrentDictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AskGroup> _askGroups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SignalGroup> _signalGroups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _read = new(StringComparer.Ordinal);

    private sealed class Watch
    {
        public readonly Lock Gate = new();
        public readonly Dictionary<string, Pending> Pending = new(StringComparer.Ordinal);
        public bool Reading;
    }

    /// <summary>A waiting ask: what to do with its reply (null: none came before the deadline).</summary>
    private sealed record Pending(Action<EntityReply?> Complete, long Deadline);

    private sealed class AskGroup
    {
        public readonly Lock Gate = new();
        public readonly List<GroupedAsk> Queue = [];
        public bool Sending;
    }

    private sealed record GroupedAsk(TCommand Command, TaskCompletionSource<TReply?> Answer, long Deadline, Action<TReply>? LateReply);

    private sealed class SignalGroup
    {
        public readonly Lock Gate = new();
        public readonly List<(TCommand Command, TaskCompletionSource Sent)> Queue = [];
        public bool Sending;
    }

    public EntityKind<TState, TCommand, TReply> Kind => kind;

    public IEntityChannel Channel => channel;

    public string InstanceId => instanceId;

    private EntityAddress Address(string key) => new(kind.Name, EntityAddress.StorageKey(key));

    /// <summary>A message to <paramref name="key"/>, carrying the ids of the replies already read from it (the entity drops them).</summary>
    private EntityMessage Message(string key, EntityMessage message)
    {
        if (!_read.TryGetValue(key, out var read) || read.IsEmpty) return message with { From = instanceId };
        var ids = new List<string>();
        while (ids.Count < MaxGroup && read.TryDequeue(out var id)) ids.Add(id);
        return message with { From = instanceId, Read = ids };
    }

    private long DeadlineIn(TimeSpan wait) => time.GetTimestamp() + (long)(Math.Max(0, wait.TotalSeconds) * time.TimestampFrequency);

    private TimeSpan Until(long deadline) => TimeSpan.FromSeconds(Math.Max(0, (deadline - time.GetTimestamp()) / (double)time.TimestampFrequency));

    /// <summary>Sends a command without waiting for its effect.</summary>
    public Task SignalAsync(string key, TCommand command, CancellationToken cancellationToken) =>
        channel.SignalAsync(Address(key), Message(key, new EntityMessage { Command = kind.SerializeCommand(command) }), cancellationToken);

    /// <summary>Acknowledges delivered outbox items.</summary>
    public Task AcknowledgeAsync(string key, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        channel.SignalAsync(Address(key), Message(key, new EntityMessage { Ack = ids }), cancellationToken);

    /// <summary>
    /// Sends a command and waits at most <paramref name="maxWait"/> for the entity's reply; null when none came in time
    /// (the command may still be applied later: callers make such commands harmless, e.g. with a decide-by time).
    /// </summary>
    /// <exception cref="EntityCommandException">The entity's machine refused the command.</exception>
    public async Task<TReply?> AskAsync(string key, TCommand command, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<TReply?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var askId = await SendAskAsync(key, new EntityMessage { Command = kind.SerializeCommand(command) }, DeadlineIn(maxWait), reply =>
        {
            if (reply is null) answer.TrySetResult(default);
            else if (reply.Error is { } error) answer.TrySetException(Refused(key, error));
            else answer.TrySetResult(kind.DeserializeReply(reply.Value!.Value));
        }, cancellationToken).ConfigureAwait(false);
        using var registration = cancellationToken.Register(() => answer.TrySetCanceled(cancellationToken));
        try
        {
            return await answer.Task.ConfigureAwait(false);
        }
        finally
        {
            Forget(key, askId);
        }
    }

    private EntityCommandException Refused(string key, string error) => new($"The {kind.Name} entity '{key}' refused the command: {error}");

    /// <summary>Registers a waiting ask, sends its message, and makes sure the entity is being read.</summary>
    private async Task<string> SendAskAsync(string key, EntityMessage message, long deadline, Action<EntityReply?> complete, CancellationToken cancellationToken)
    {
        var askId = Guid.NewGuid().ToString("N");
        var watch = _watches.GetOrAdd(key, _ => new Watch());
        lock (watch.Gate) watch.Pending[askId] = new Pending(complete, deadline);
        try
        {
            await channel.SignalAsync(Address(key), Message(key, message with { AskId = askId }), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Forget(key, askId);
            throw;
        }

        StartReading(key, watch);
        return askId;
    }

    private void Forget(string key, string askId)
    {
        if (!_watches.TryGetValue(key, out var watch)) return;
        lock (watch.Gate) watch.Pending.Remove(askId);
    }

    private void StartReading(string key, Watch watch)
    {
        lock (watch.Gate)
        {
            if (watch.Reading) return;
            watch.Reading = true;
        }

        _ = ReadUntilAnsweredAsync(key, watch);
    }

    private async Task ReadUntilAnsweredAsync(string key, Watch watch)
    {
        var delay = channel.FirstReadDelay;
        while (true)
        {
            if (delay > TimeSpan.Zero) await Task.Delay(delay, time).ConfigureAwait(false);
            delay = channel.ReadInterval;
            EntityEnvelope? envelope = null;
            try
            {
                envelope = await channel.ReadAsync(Address(key), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // the store did not answer this time: waiting asks run into their deadlines if it stays down
            }

            var now = time.GetTimestamp();
            var done = new List<(Pending Pending, EntityReply? Reply)>();
            bool finished;
            lock (watch.Gate)
            {
                foreach (var (askId, pending) in watch.Pending.ToList())
                {
                    if (envelope is not null && envelope.Replies.TryGetValue(askId, out var reply))
                    {
                        done.Add((pending, reply));
                        _read.GetOrAdd(key, _ => new ConcurrentQueue<string>()).Enqueue(askId);
                    }
                    else if (now >= pending.Deadline) done.Add((pending, null));
                    else continue;
                    watch.Pending.Remove(askId);
                }

                // a new ask after this point starts its own reader
                finished = watch.Pending.Count == 0;
                if (finished) watch.Reading = false;
            }

            foreach (var (pending, reply) in done) pending.Complete(reply);
            if (finished) return;
        }
    }

    /// <summary>
    /// Asks as part of a group (see the class summary). Each caller waits at most its own <paramref name="maxWait"/>; a
    /// reply that arrives after its caller stopped waiting goes to <paramref name="lateReply"/> (e.g. to release what
    /// was granted to nobody).
    /// </summary>
    public Task<TReply?> AskGroupedAsync(string key, TCommand command, TimeSpan maxWait, Action<TReply>? lateReply = null)
    {
        var ask = new GroupedAsk(command, new TaskCompletionSource<TReply?>(TaskCreationOptions.RunContinuationsAsynchronously), DeadlineIn(maxWait), lateReply);
        var group = _askGroups.GetOrAdd(key, _ => new AskGroup());
        bool start;
        lock (group.Gate)
        {
            group.Queue.Add(ask);
            start = !group.Sending;
            group.Sending = true;
        }

        if (start) _ = SendAskGroupsAsync(key, group);
        return WaitOwnDeadlineAsync(ask);
    }

    private async Task<TReply?> WaitOwnDeadlineAsync(GroupedAsk ask)
    {
        var (completed, reply) = await Deadline.WaitAsync(ask.Answer.Task, Until(ask.Deadline), time, CancellationToken.None).ConfigureAwait(false);
        if (completed) return reply;
        // the group's reply, if it comes, goes to LateReply
        return ask.Answer.TrySetResult(default) ? default : await ask.Answer.Task.ConfigureAwait(false);
    }

    private async Task SendAskGroupsAsync(string key, AskGroup group)
    {
        await Task.Yield();
        while (true)
        {
            List<GroupedAsk> batch;
            lock (group.Gate)
            {
                if (group.Queue.Count == 0)
                {
                    group.Sending = false;
                    return;
                }

                batch = [.. group.Queue.Take(MaxGroup)];
                group.Queue.RemoveRange(0, batch.Count);
            }

            var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                var message = new EntityMessage { Commands = [.. batch.Select(a => kind.SerializeCommand(a.Command))] };
                var askId = await SendAskAsync(key, message, batch.Max(a => a.Deadline), reply =>
                {
                    Deliver(key, batch, reply);
                    completed.TrySetResult();
                }, CancellationToken.None).ConfigureAwait(false);
                await completed.Task.ConfigureAwait(false);
                Forget(key, askId);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                foreach (var ask in batch) ask.Answer.TrySetException(ex);
            }
        }
    }

    private void Deliver(string key, List<GroupedAsk> batch, EntityReply? reply)
    {
        if (reply is null)
        {
            foreach (var ask in batch) ask.Answer.TrySetResult(default);
            return;
        }

        if (reply.Error is { } error || reply.Value is null)
        {
            foreach (var ask in batch) ask.Answer.TrySetException(Refused(key, reply.Error ?? "no reply"));
            return;
        }

        var items = reply.Value.Value.Deserialize<List<EntityItemReply>>(EntityStateJson.Options) ?? [];
        for (var i = 0; i < batch.Count; i++)
        {
            var ask = batch[i];
            if (i >= items.Count || items[i].Value is null)
            {
                ask.Answer.TrySetException(Refused(key, i < items.Count ? items[i].Error ?? "no reply" : "no reply"));
                continue;
            }

            var value = kind.DeserializeReply(items[i].Value!.Value);
            if (!ask.Answer.TrySetResult(value)) ask.LateReply?.Invoke(value);
        }
    }

    /// <summary>Sends a command as part of a group (see the class summary); completes once the message carrying it is queued.</summary>
    public Task SignalGroupedAsync(string key, TCommand command)
    {
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = _signalGroups.GetOrAdd(key, _ => new SignalGroup());
        bool start;
        lock (group.Gate)
        {
            group.Queue.Add((command, sent));
            start = !group.Sending;
            group.Sending = true;
        }

        if (start) _ = SendSignalGroupsAsync(key, group);
        return sent.Task;
    }

    private async Task SendSignalGroupsAsync(string key, SignalGroup group)
    {
        await Task.Yield();
        while (true)
        {
            List<(TCommand Command, TaskCompletionSource Sent)> batch;
            lock (group.Gate)
            {
                if (group.Queue.Count == 0)
                {
                    group.Sending = false;
                    return;
                }

                batch = [.. group.Queue.Take(MaxGroup)];
                group.Queue.RemoveRange(0, batch.Count);
            }

            try
            {
                await channel.SignalAsync(Address(key), Message(key, new EntityMessage { Commands = [.. batch.Select(b => kind.SerializeCommand(b.Command))] }),
                    CancellationToken.None).ConfigureAwait(false);
                foreach (var (_, sent) in batch) sent.TrySetResult();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                foreach (var (_, sent) in batch) sent.TrySetException(ex);
            }
        }
    }

    /// <summary>The entity's state now (null when it has none) with its envelope.</summary>
    public async Task<(TState? State, EntityEnvelope? Envelope)> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var envelope = await channel.ReadAsync(Address(key), cancellationToken).ConfigureAwait(false);
        return (kind.StateOf(envelope), envelope);
    }

    /// <summary>Every entity of this kind that holds a state.</summary>
    public async IAsyncEnumerable<(TState State, EntityEnvelope Envelope)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (_, envelope) in channel.ListAsync(kind.Name, cancellationToken).ConfigureAwait(false))
        {
            if (kind.StateOf(envelope) is { } state) yield return (state, envelope);
        }
    }
}

/// <summary>An entity refused a command (its machine found it invalid); nothing was changed.</summary>
public sealed class EntityCommandException(string message) : Exception(message);
