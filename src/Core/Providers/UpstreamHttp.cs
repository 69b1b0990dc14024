using System.Net;

namespace Gateway.Core.Providers;

/// <summary>How upstream connections are pooled (section <c>Gateway:Http</c>).</summary>
public sealed class UpstreamHttpOptions
{
    /// <summary>A pooled connection is replaced after this long (so DNS changes are picked up).</summary>
    public double PooledConnectionLifetimeMinutes { get; set; } = 5;
    /// <summary>An idle pooled connection is closed after this long.</summary>
    public double PooledConnectionIdleTimeoutMinutes { get; set; } = 2;
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
    public static SocketsHttpHandler CreateHandler(UpstreamHttpOptions options) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(options.PooledConnectionLifetimeMinutes),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(options.PooledConnectionIdleTimeoutMinutes),
        ConnectTimeout = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds),
        MaxConnectionsPerServer = options.MaxConnectionsPerServer,
        EnableMultipleHttp2Connections = true,
        AutomaticDecompression = DecompressionMethods.All,
    };

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
