using System.Text.Json.Nodes;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Pipeline;

/// <summary>What the pipeline produces: a whole completion, or an open stream of chunks.</summary>
public abstract record GatewayResult
{
    private GatewayResult() { }

    /// <summary>A whole chat.completion body and the usage it reports.</summary>
    public sealed record Completion(JsonObject Body, TokenUsage? Usage) : GatewayResult;

    /// <summary>An open upstream stream; the caller writes it out and disposes it.</summary>
    public sealed record Streaming(IChatStream Stream) : GatewayResult;
}
