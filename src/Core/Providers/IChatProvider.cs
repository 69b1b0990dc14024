using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Providers;

/// <summary>One upstream call: the validated request and the deployment chosen to serve it.</summary>
public sealed record ProviderRequest(ChatRequest Chat, DeploymentOptions Deployment, string RequestId);

/// <summary>A whole (non-streaming) completion in OpenAI's <c>chat.completion</c> shape.</summary>
public sealed record ProviderCompletion(JsonObject Body, TokenUsage? Usage);

/// <summary>
/// Speaks one provider's wire format and returns OpenAI-shaped results. Errors surface as
/// <see cref="Errors.GatewayException"/> with the status the client should see.
/// </summary>
public interface IChatProvider
{
    Task<ProviderCompletion> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>Opens a stream: returns once the upstream accepted the request (status and headers read), before any chunk.</summary>
    Task<IChatStream> OpenStreamAsync(ProviderRequest request, CancellationToken cancellationToken);
}

/// <summary>A stream of OpenAI <c>chat.completion.chunk</c> objects, read one at a time as the upstream produces them.</summary>
public interface IChatStream : IAsyncDisposable
{
    /// <summary>The next chunk, or null at the end of the stream.</summary>
    ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>The usage the upstream reported, once it has (normally with the last chunk).</summary>
    TokenUsage? Usage { get; }
}

/// <summary>A stream that has a last word for the client once it ends (written as an SSE comment before [DONE]).</summary>
public interface IStreamTrailer
{
    string? Trailer { get; }
}
