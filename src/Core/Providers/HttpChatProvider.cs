using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;

namespace Gateway.Core.Providers;

/// <summary>
/// The HTTP plumbing shared by the real providers: one timeout per call (for streams, until the last
/// byte), upstream errors mapped to client errors, and responses read without buffering streams.
/// </summary>
public abstract class HttpChatProvider(HttpClient http, DeploymentOptions deployment, string label) : IChatProvider
{
    protected DeploymentOptions Deployment { get; } = deployment;
    protected string Label { get; } = label;
    protected TimeSpan Timeout { get; } = TimeSpan.FromSeconds(deployment.TimeoutSeconds);

    protected abstract ValueTask<HttpRequestMessage> CreateRequestAsync(ProviderRequest request, bool stream, CancellationToken cancellationToken);

    protected abstract ProviderCompletion ReadCompletion(JsonObject upstream, ProviderRequest request);

    protected abstract ChatStreamBase CreateStream(StreamContext context, ProviderRequest request);

    public async Task<ProviderCompletion> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var message = await CreateRequestAsync(request, stream: false, timeout.Token).ConfigureAwait(false);
            SetConnectTimeout(message);
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!UpstreamErrors.IsSuccess(response.StatusCode))
                throw await UpstreamErrors.FromResponseAsync(response, Label, timeout.Token).ConfigureAwait(false);
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            var node = await JsonNode.ParseAsync(body, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (node is not JsonObject upstream) throw Errors.Errors.UpstreamProtocol(Label, "the body is not a JSON object");
            return ReadCompletion(upstream, request);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new Errors.GatewayException(Errors.Errors.UpstreamTimeout(Label, Timeout).Error, ex);
        }
        catch (HttpRequestException ex)
        {
            throw Errors.Errors.UpstreamError(Label, null, ex);
        }
        catch (IOException ex)
        {
            throw Errors.Errors.UpstreamError(Label, null, ex);
        }
        catch (JsonException ex)
        {
            throw new Errors.GatewayException(Errors.Errors.UpstreamProtocol(Label, "the body is not valid JSON").Error, ex);
        }
    }

    public async Task<IChatStream> OpenStreamAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        HttpResponseMessage? response = null;
        try
        {
            using var message = await CreateRequestAsync(request, stream: true, timeout.Token).ConfigureAwait(false);
            SetConnectTimeout(message);
            response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!UpstreamErrors.IsSuccess(response.StatusCode))
                throw await UpstreamErrors.FromResponseAsync(response, Label, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            var context = new StreamContext(response, new SseReader(body), timeout, Label, Timeout, cancellationToken)
            {
                IdleTimeout = Deployment.StreamIdleTimeoutSeconds > 0 ? TimeSpan.FromSeconds(Deployment.StreamIdleTimeoutSeconds) : null,
            };
            response = null;
            return CreateStream(context, request);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Cleanup(response, timeout);
            throw new Errors.GatewayException(Errors.Errors.UpstreamTimeout(Label, Timeout).Error, ex);
        }
        catch (HttpRequestException ex)
        {
            Cleanup(response, timeout);
            throw Errors.Errors.UpstreamError(Label, null, ex);
        }
        catch
        {
            Cleanup(response, timeout);
            throw;
        }
    }

    private void SetConnectTimeout(HttpRequestMessage message)
    {
        if (Deployment.ConnectTimeoutSeconds is { } seconds) message.Options.Set(UpstreamHttp.ConnectTimeout, TimeSpan.FromSeconds(seconds));
    }

    private static void Cleanup(HttpResponseMessage? response, CancellationTokenSource timeout)
    {
        response?.Dispose();
        timeout.Dispose();
    }

    /// <summary>A UTF-8 JSON body for an upstream request.</summary>
    protected static PooledJsonContent Json(JsonObject body) => new(body);
}

/// <summary>
/// A JSON request body written into a pooled buffer and sent from it with its length, the buffer returned when the
/// request is disposed: an 8 MB prompt costs no new 8 MB array per attempt (serializing to a byte[] copied the
/// serializer's buffer into a fresh large-object-heap array every time).
/// </summary>
public sealed class PooledJsonContent : HttpContent
{
    private readonly Pipeline.PooledBufferWriter _buffer = new();

    public PooledJsonContent(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using (var writer = new Utf8JsonWriter(_buffer)) body.WriteTo(writer);
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
        stream.WriteAsync(_buffer.WrittenMemory).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _buffer.WrittenMemory.Length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _buffer.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>What an open upstream stream owns: the response, its event reader and the call's timeout.</summary>
public sealed record StreamContext(HttpResponseMessage Response, SseReader Reader, CancellationTokenSource Timeout, string Label, TimeSpan TimeoutSpan, CancellationToken ClientToken)
{
    /// <summary>The longest the upstream may go quiet between events (<see cref="DeploymentOptions.StreamIdleTimeoutSeconds"/>); null: no limit.</summary>
    public TimeSpan? IdleTimeout { get; init; }
}

/// <summary>Reads events of an open upstream stream, mapping transport failures and timeouts to client errors.</summary>
public abstract class ChatStreamBase(StreamContext context) : IChatStream
{
    private bool _disposed;
    private CancellationTokenSource? _idle;
    private CancellationTokenSource? _idleOrTimeout;

    protected StreamContext Context { get; } = context;

    public TokenUsageHolder UsageHolder { get; } = new();

    public Protocol.TokenUsage? Usage => UsageHolder.Value;

    public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var chunk = await ReadCoreAsync(ReadToken()).ConfigureAwait(false);
            // the clock runs while waiting on the upstream only, not while the client takes its time
            _idle?.CancelAfter(Timeout.InfiniteTimeSpan);
            return chunk;
        }
        catch (OperationCanceledException ex) when (_idle?.IsCancellationRequested == true && !Context.Timeout.IsCancellationRequested && !Context.ClientToken.IsCancellationRequested)
        {
            // a stall: as broken as a reset (and recovered like one)
            throw new Errors.GatewayException(new Errors.GatewayError(504,
                $"The upstream provider ({Context.Label}) sent nothing for {Context.IdleTimeout!.Value.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} s in the middle of a stream (stream idle timeout).",
                "timeout", null, "upstream_timeout"), ex);
        }
        catch (OperationCanceledException ex) when (!Context.ClientToken.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new Errors.GatewayException(Errors.Errors.UpstreamTimeout(Context.Label, Context.TimeoutSpan).Error, ex);
        }
        catch (HttpRequestException ex)
        {
            throw Errors.Errors.UpstreamError(Context.Label, null, ex);
        }
        catch (IOException ex)
        {
            throw Errors.Errors.UpstreamError(Context.Label, null, ex);
        }
        catch (JsonException ex)
        {
            throw new Errors.GatewayException(Errors.Errors.UpstreamProtocol(Context.Label, "a stream event is not valid JSON").Error, ex);
        }
    }

    protected abstract ValueTask<JsonObject?> ReadCoreAsync(CancellationToken cancellationToken);

    /// <summary>The whole-request timeout's token, and with an idle timeout one that also fires when this read waits longer than it.</summary>
    private CancellationToken ReadToken()
    {
        if (Context.IdleTimeout is not { } idle) return Context.Timeout.Token;
        if (_idle is null)
        {
            _idle = new CancellationTokenSource();
            _idleOrTimeout = CancellationTokenSource.CreateLinkedTokenSource(Context.Timeout.Token, _idle.Token);
        }

        _idle.CancelAfter(idle);
        return _idleOrTimeout!.Token;
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        Context.Reader.Dispose();
        Context.Response.Dispose();
        Context.Timeout.Dispose();
        _idleOrTimeout?.Dispose();
        _idle?.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Mutable slot for the usage a stream learns as it goes.</summary>
public sealed class TokenUsageHolder
{
    public Protocol.TokenUsage? Value { get; set; }
}
