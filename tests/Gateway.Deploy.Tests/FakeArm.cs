using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Deploy.Tests;

/// <summary>One call the fake Azure Resource Manager received.</summary>
public sealed record ArmCall(string Method, string Path, string? ApiVersion, string? Authorization);

/// <summary>
/// A local HTTP server that answers as Azure Resource Manager does for POST .../sites/{name}/restart and
/// .../syncfunctiontriggers: 200 with an empty body, or the status and {"error":{"code","message"}} body it is told to
/// fail with. Records every call (method, path, api-version, Authorization header).
/// </summary>
public sealed class FakeArm : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public FakeArm()
    {
        var port = FreePort();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<ArmCall> Calls { get; } = new();

    /// <summary>When set, every call is answered with this status and ARM error body.</summary>
    public (int Status, string Code, string Message)? FailWith { get; set; }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var request = context.Request;
            Calls.Enqueue(new ArmCall(request.HttpMethod, request.Url!.AbsolutePath, request.QueryString["api-version"], request.Headers["Authorization"]));
            var body = "";
            if (FailWith is { } fail)
            {
                context.Response.StatusCode = fail.Status;
                body = System.Text.Json.JsonSerializer.Serialize(new { error = new { code = fail.Code, message = fail.Message } });
            }
            else if (request.HttpMethod != "POST" || !(request.Url.AbsolutePath.EndsWith("/restart", StringComparison.Ordinal) ||
                         request.Url.AbsolutePath.EndsWith("/syncfunctiontriggers", StringComparison.Ordinal)))
            {
                context.Response.StatusCode = 404;
                body = """{"error":{"code":"NotFound","message":"no such operation"}}""";
            }

            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
