using System.Text.Json.Nodes;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Testing;

/// <summary>
/// A provider stream in memory, as the gateway reads one: a chunk per delta (made fresh on each read, since the stages
/// rewrite chunks), then one with <c>finish_reason</c>. For stream stages' tests and benchmarks, without a server.
/// </summary>
public sealed class FakeChatStream : IChatStream
{
    private readonly IReadOnlyList<Func<JsonObject>> _deltas;
    private readonly string _finishReason;
    private int _next;

    private FakeChatStream(IReadOnlyList<Func<JsonObject>> deltas, string finishReason)
    {
        _deltas = deltas;
        _finishReason = finishReason;
    }

    /// <summary>Content in <paramref name="pieces"/>, then <c>stop</c>.</summary>
    public static FakeChatStream Text(IReadOnlyList<string> pieces) =>
        new([.. pieces.Select(p => (Func<JsonObject>)(() => new JsonObject { ["content"] = p }))], "stop");

    /// <summary>Tool-call argument fragments (tool index, fragment) in order, as parallel tool calls stream, then <c>tool_calls</c>.</summary>
    public static FakeChatStream ToolCalls(IReadOnlyList<(int Tool, string Text)> pieces) =>
        new([.. pieces.Select(p => (Func<JsonObject>)(() => new JsonObject
        {
            ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = p.Tool, ["function"] = new JsonObject { ["arguments"] = p.Text } }),
        }))], "tool_calls");

    public TokenUsage? Usage => null;

    public ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_next > _deltas.Count) return ValueTask.FromResult<JsonObject?>(null);
        var last = _next == _deltas.Count;
        var delta = last ? new JsonObject() : _deltas[_next]();
        _next++;
        return ValueTask.FromResult<JsonObject?>(new JsonObject
        {
            ["id"] = "c1", ["object"] = "chat.completion.chunk", ["model"] = "m",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = last ? _finishReason : null }),
        });
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
