using System.Net;
using System.Net.Sockets;

namespace Gateway.Core.Providers;

/// <summary>How upstream connections are pooled (section <c>Gateway:Http</c>).</summary>
public sealed class UpstreamHttpOptions
{
    /// <summary>A pooled connection is replaced after this long (so DNS changes are picked up).</summary>
    public double PooledConnectionLifetimeMinutes { get; set; } = 5;
    /// <summary>An idle pooled connection is closed after this long.</summary>
    public double PooledConnectionIdleTimeoutMinutes { get; set; } = 2;
    /// <summary>TCP connect timeout for a new connection, unless the deployment sets its own.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;
    /// <summary>Connections per upstream endpoint at most (requests beyond it queue for a free connection).</summary>
    public int MaxConnectionsPerServer { get; set; } = 256;
}

/// <summary>
/// The upstream HTTP client: one pooled handler for every provider endpoint (connections are pooled per endpoint), kept
/// for the life of the process so that after warm-up no request opens a new connection; HTTP/2 where the upstream offers
/// it (negotiated by ALPN over TLS, with several HTTP/2 connections when one is saturated), else HTTP/1.1 keep-alive.
/// </summary>
public static class UpstreamHttp
{
    /// <summary>A request's connect timeout (a deployment's own), used when the request has to open a new connection.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ConnectTimeout = new("llm-gateway.connect-timeout");

    public static SocketsHttpHandler CreateHandler(UpstreamHttpOptions options)
    {
        var fallback = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds);
        return new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(options.PooledConnectionLifetimeMinutes),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(options.PooledConnectionIdleTimeoutMinutes),
            // enforced per connection below (the deployment's own timeout, else the default)
            ConnectTimeout = Timeout.InfiniteTimeSpan,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, fallback, cancellationToken),
            MaxConnectionsPerServer = options.MaxConnectionsPerServer,
            EnableMultipleHttp2Connections = true,
            AutomaticDecompression = DecompressionMethods.All,
        };
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, TimeSpan fallback, CancellationToken cancellationToken)
    {
        var timeout = context.InitialRequestMessage.Options.TryGetValue(ConnectTimeout, out var own) ? own : fallback;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, deadline.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"Connecting to {context.DnsEndPoint.Host}:{context.DnsEndPoint.Port} timed out after {timeout.TotalSeconds} s.", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Applies the gateway's defaults to a client: no client-wide timeout (each call has its own), HTTP/2 preferred.</summary>
    public static HttpClient Configure(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        client.Timeout = Timeout.InfiniteTimeSpan;
        client.DefaultRequestVersion = HttpVersion.Version20;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        return client;
    }
}
