using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Gateway.Testing;

/// <summary>
/// A real Redis for tests. test.sh starts one <c>redis-server</c> for the whole run and passes its address in
/// <c>GATEWAY_TEST_REDIS</c> (<c>host:port</c>); without it the fixture starts its own <c>redis-server</c> from the PATH on a
/// free loopback port with persistence off, and stops it afterwards. With neither, the tests fail (they are never skipped).
/// Tests isolate themselves by unique keys rather than by flushing the shared server.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "GATEWAY_TEST_REDIS";
    private LocalServerProcess? _server;

    /// <summary><c>host:port</c> of the server.</summary>
    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var given = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            Endpoint = given.Trim();
            return;
        }

        var server = FindOnPath("redis-server") ?? throw new InvalidOperationException(
            $"redis-server not found: run the tests with ./test.sh, install Redis (apt-get install redis-server), or set {EnvironmentVariable} to host:port of a Redis server.");
        var port = LocalServerProcess.FreePort();
        _server = LocalServerProcess.Start(server,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], "redis-server");
        Endpoint = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        await WaitForPing(port);
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private async Task WaitForPing(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_server?.ExitCode is { } code) throw new InvalidOperationException($"redis-server exited with code {code}: {_server.Log}");

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer);
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal)) return;
            }
            catch (SocketException)
            {
            }
            catch (IOException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"redis-server did not answer PING on port {port} within 30 s");
    }
}
