using Xunit;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Testing;

/// <summary>
/// Azurite for tests. test.sh starts one Azurite for the whole run and passes its connection string in
/// <c>GATEWAY_TEST_STORAGE</c>; without it (a test run from an IDE) the fixture starts its own Azurite from the
/// repository's node_modules on free loopback ports with in-memory storage, and stops it afterwards.
/// Tests isolate themselves with <see cref="UniqueName"/> rather than by clearing shared tables.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "GATEWAY_TEST_STORAGE";
    private const string Account = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private LocalServerProcess? _server;
    private int _counter;

    public string ConnectionString { get; private set; } = "";

    /// <summary>A table- and queue-safe name unique to this test run: lower-case letters and digits.</summary>
    public string UniqueName(string prefix)
    {
        var n = Interlocked.Increment(ref _counter);
        return $"{prefix.ToLowerInvariant()}{Environment.ProcessId % 100000}x{n}{Guid.NewGuid().ToString("N")[..6]}";
    }

    public async Task InitializeAsync()
    {
        var given = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            ConnectionString = given;
            return;
        }

        (_server, ConnectionString) = await StartOwnAsync();
    }

    /// <summary>Starts an Azurite of its own (in memory, free loopback ports) and returns it with its connection string.</summary>
    public static Task<(LocalServerProcess Server, string ConnectionString)> StartOwnAsync() => StartOwnAsync(LocalServerProcess.FreePort);

    private const int StartAttempts = 3;

    /// <summary>
    /// As above, with the ports from <paramref name="freePort"/>. A port is free when chosen but may be taken before Azurite
    /// binds it (the suites run side by side, each opening sockets): Azurite then exits with <c>EADDRINUSE</c>, and it is
    /// started again on newly chosen ports, up to <see cref="StartAttempts"/> times in all.
    /// </summary>
    public static async Task<(LocalServerProcess Server, string ConnectionString)> StartOwnAsync(Func<int> freePort)
    {
        ArgumentNullException.ThrowIfNull(freePort);
        var azurite = FindAzurite() ?? throw new InvalidOperationException(
            $"Azurite not found: run the tests with ./test.sh, run `npm ci` at the repository root, or set {EnvironmentVariable}.");
        for (var attempt = 1; ; attempt++)
        {
            int blob = freePort(), queue = freePort(), table = freePort();
            var server = LocalServerProcess.Start(azurite,
            [
                "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--disableProductStyleUrl",
                "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tableHost", "127.0.0.1", "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ], "Azurite");
            try
            {
                // all three services: the Functions host and the Durable extension read blobs first (leases, the config container)
                await WaitForPort(server, table);
                await WaitForPort(server, queue);
                await WaitForPort(server, blob);
            }
            catch (InvalidOperationException) when (attempt < StartAttempts && server.Log.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                server.Dispose();
                continue;
            }
            catch
            {
                server.Dispose();
                throw;
            }

            return (server, $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};" +
                $"BlobEndpoint=http://127.0.0.1:{blob}/{Account};QueueEndpoint=http://127.0.0.1:{queue}/{Account};TableEndpoint=http://127.0.0.1:{table}/{Account};");
        }
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }

    private static string? FindAzurite()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite");
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    private const int StartSeconds = 120;

    private static async Task WaitForPort(LocalServerProcess server, int port)
    {
        // generous: on a loaded machine (the end-to-end suite runs alongside the unit tests) node takes a while to start
        var deadline = DateTime.UtcNow.AddSeconds(StartSeconds);
        while (DateTime.UtcNow < deadline)
        {
            if (server.ExitCode is { } code) throw new InvalidOperationException($"Azurite exited with code {code}: {server.Log}");
            // Azurite's own word that it listens on the port: a connection alone could reach another process that took it
            if (server.Log.Contains($"listening at http://127.0.0.1:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}", StringComparison.Ordinal))
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return;
                }
                catch (SocketException)
                {
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Azurite did not listen on port {port} within {StartSeconds} s");
    }
}
