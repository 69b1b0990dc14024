using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gateway.Core.Entities;

namespace Gateway.Testing;

/// <summary>
/// The gateway's entities in memory (as <see cref="LocalEntities"/> holds them), watched: every command is counted by
/// kind and operation (a grouped message counts each of its commands), and a test can make signals or reads fail, or hold
/// signals back (an entity that has not run them yet).
/// </summary>
internal sealed class TestEntityChannel(TimeProvider time) : IEntityChannel
{
    public InMemoryEntityChannel Inner { get; } = LocalEntities.Create(time);

    /// <summary>Commands sent, by "kind" and by "kind:Op" (e.g. <c>budget:Reserve</c>).</summary>
    public ConcurrentDictionary<string, int> Commands { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages sent (a grouped message is one).</summary>
    public int Messages;

    public int Lists;

    /// <summary>Decides, per message, whether the signal fails (the exception to throw) — before or after it is applied.</summary>
    public Func<EntityAddress, EntityMessage, Exception?>? FailBefore { get; set; }

    public Func<EntityAddress, EntityMessage, Exception?>? FailAfter { get; set; }

    /// <summary>Awaited before each signal goes through (a test holds a message back with it).</summary>
    public Func<EntityAddress, EntityMessage, Task>? BeforeSignal { get; set; }

    /// <summary>When set, every read and list throws this.</summary>
    public Exception? ReadFailure { get; set; }

    public TimeSpan FirstReadDelay => Inner.FirstReadDelay;

    public TimeSpan ReadInterval => Inner.ReadInterval;

    public bool IsReady => true;

    public int Count(string kind, string? op = null) => Commands.GetValueOrDefault(op is null ? kind : kind + ":" + op);

    public async Task SignalAsync(EntityAddress to, EntityMessage message, CancellationToken cancellationToken)
    {
        if (BeforeSignal is { } hold) await hold(to, message);
        if (FailBefore?.Invoke(to, message) is { } before) throw before;
        Interlocked.Increment(ref Messages);
        foreach (var command in message.Commands ?? (message.Command is null ? [] : [message.Command]))
        {
            Commands.AddOrUpdate(to.Kind, 1, (_, n) => n + 1);
            using var json = JsonDocument.Parse(command);
            if (json.RootElement.TryGetProperty("op", out var op)) Commands.AddOrUpdate(to.Kind + ":" + op.GetString(), 1, (_, n) => n + 1);
        }

        await Inner.SignalAsync(to, message, cancellationToken);
        if (FailAfter?.Invoke(to, message) is { } after) throw after;
    }

    public Task<EntityEnvelope?> ReadAsync(EntityAddress of, CancellationToken cancellationToken) =>
        ReadFailure is { } failure ? Task.FromException<EntityEnvelope?>(failure) : Inner.ReadAsync(of, cancellationToken);

    public async IAsyncEnumerable<(string Key, EntityEnvelope Envelope)> ListAsync(string kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Lists);
        if (ReadFailure is { } failure) throw failure;
        await foreach (var item in Inner.ListAsync(kind, cancellationToken)) yield return item;
    }

    public void Pause() => Inner.Pause();

    public Task ResumeAsync() => Inner.ResumeAsync();
}
