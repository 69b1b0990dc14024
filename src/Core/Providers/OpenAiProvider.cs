using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Providers;

/// <summary>
/// OpenAI and any OpenAI-compatible server (vLLM, Ollama, Groq…), and Azure OpenAI, which speaks the
/// same body format at a different URL with different authentication. The client's body is forwarded
/// unchanged except for <c>model</c> and, when streaming, <c>stream_options.include_usage</c>, which the
/// gateway always asks for so it can account for every stream.
/// </summary>
public sealed class OpenAiProvider : HttpChatProvider
{
    private const string AzureScope = "https://cognitiveservices.azure.com/.default";
    private readonly Uri _url;
    private readonly string? _apiKey;
    private readonly bool _azure;
    private readonly IAccessTokenSource? _tokens;

    public OpenAiProvider(HttpClient http, DeploymentOptions deployment, ISecretResolver secrets, IAccessTokenSource? tokens)
        : base(http, deployment, deployment.Provider.ToLowerInvariant())
    {
        _azure = string.Equals(deployment.Provider, ProviderKind.AzureOpenAi, StringComparison.OrdinalIgnoreCase);
        _tokens = tokens;
        _apiKey = deployment.ApiKeySetting is null ? null : secrets.Resolve(deployment.ApiKeySetting);
        var endpoint = (deployment.Endpoint ?? "https://api.openai.com/v1").TrimEnd('/');
        _url = _azure
            ? new Uri($"{endpoint}/openai/deployments/{Uri.EscapeDataString(deployment.Model)}/chat/completions?api-version={Uri.EscapeDataString(deployment.ApiVersion ?? "")}")
            : new Uri(endpoint + "/chat/completions");
    }

    protected override async ValueTask<HttpRequestMessage> CreateRequestAsync(ProviderRequest request, bool stream, CancellationToken cancellationToken)
    {
        var body = request.Chat.CloneBody();
        body["model"] = Deployment.Model;
        if (stream)
        {
            body["stream"] = true;
            var options = body["stream_options"] as JsonObject ?? new JsonObject();
            options["include_usage"] = true;
            body["stream_options"] = options;
        }
        var message = new HttpRequestMessage(HttpMethod.Post, _url) { Content = Json(body) };
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        message.Headers.TryAddWithoutValidation("x-client-request-id", request.RequestId);
        if (_azure && string.Equals(Deployment.Auth, "entra", StringComparison.OrdinalIgnoreCase))
        {
            if (_tokens is null) throw Errors.Errors.UpstreamError(Label, null);
            var token = await _tokens.GetTokenAsync(AzureScope, cancellationToken).ConfigureAwait(false);
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (_azure)
        {
            message.Headers.TryAddWithoutValidation("api-key", _apiKey);
        }
        else if (!string.IsNullOrEmpty(_apiKey))
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }
        return message;
    }

    protected override ProviderCompletion ReadCompletion(JsonObject upstream, ProviderRequest request) =>
        new(upstream, TokenUsage.FromOpenAi(upstream["usage"]));

    protected override ChatStreamBase CreateStream(StreamContext context, ProviderRequest request) => new OpenAiStream(context);

    private sealed class OpenAiStream(StreamContext context) : ChatStreamBase(context)
    {
        private bool _sawFinish;
        private bool _done;
        private JsonObject? _next;

        /// <summary>
        /// The next chunk. Azure OpenAI opens with a chunk of its prompt filter's results and no identity (empty
        /// <c>id</c> and <c>model</c>, <c>created</c> 0): it takes the identity of the chunk after it, so every chunk the
        /// client gets names the same completion.
        /// </summary>
        protected override async ValueTask<JsonObject?> ReadCoreAsync(CancellationToken cancellationToken)
        {
            if (_next is { } held)
            {
                _next = null;
                return held;
            }

            var chunk = await ReadChunkAsync(cancellationToken).ConfigureAwait(false);
            if (chunk is null || !string.IsNullOrEmpty((string?)(chunk["id"] as JsonValue))) return chunk;
            _next = await ReadChunkAsync(cancellationToken).ConfigureAwait(false);
            if (_next is not null) ChatChunks.CopyIdentity(_next, chunk);

            return chunk;
        }

        private async ValueTask<JsonObject?> ReadChunkAsync(CancellationToken cancellationToken)
        {
            while (!_done)
            {
                var sse = await Context.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (sse is null)
                {
                    _done = true;
                    // A clean end without [DONE] is tolerated only once the model has finished.
                    if (_sawFinish) return null;
                    throw Errors.Errors.UpstreamError(Context.Label, null, new IOException("The upstream stream ended before it finished."));
                }
                var data = sse.Value.Data;
                if (data.Length == 0) continue;
                if (data == "[DONE]") { _done = true; return null; }
                if (JsonNode.Parse(data) is not JsonObject chunk) throw new JsonException("chunk is not an object");
                if (chunk["error"] is JsonObject) throw Errors.Errors.UpstreamError(Context.Label, null);
                if (chunk["usage"] is JsonObject usage) UsageHolder.Value = TokenUsage.FromOpenAi(usage);
                if (chunk["choices"] is JsonArray choices && choices.Any(c => c?["finish_reason"] is JsonValue v && v.GetValueKind() == JsonValueKind.String)) _sawFinish = true;
                return chunk;
            }
            return null;
        }
    }
}
