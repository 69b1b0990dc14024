using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Infrastructure;

/// <summary>
/// The test Azurite's start when a chosen port is taken before Azurite binds it (the race that failed a CI run: the
/// suites run side by side and open sockets of their own).
/// </summary>
public sealed class AzuriteStartTests
{
    [Fact]
    public async Task A_port_taken_before_azurite_binds_it_makes_it_start_again_on_other_ports()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        var chosen = new List<int>();
        // the first three ports chosen: the table port is the one held open, as if another process had taken it
        int Next()
        {
            var port = chosen.Count == 2 ? takenPort : LocalServerProcess.FreePort();
            chosen.Add(port);
            return port;
        }

        var (server, connection) = await AzuriteFixture.StartOwnAsync(Next);
        using (server)
        {
            Assert.Equal(6, chosen.Count);
            Assert.Contains($"TableEndpoint=http://127.0.0.1:{chosen[5]}/", connection, StringComparison.Ordinal);
            Assert.DoesNotContain($":{takenPort}/", connection, StringComparison.Ordinal);
            // and the Azurite that started serves tables
            var table = new TableServiceClient(connection).GetTableClient("started" + Guid.NewGuid().ToString("N")[..8]);
            await table.CreateIfNotExistsAsync();
            await table.AddEntityAsync(new TableEntity("p", "r"));
            Assert.Equal("r", (await table.GetEntityAsync<TableEntity>("p", "r")).Value.RowKey);
        }
    }

    [Fact]
    public async Task A_port_that_stays_taken_fails_after_three_attempts_with_azurite_s_reason()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        var attempts = 0;
        int Next() => attempts++ % 3 == 2 ? takenPort : LocalServerProcess.FreePort();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => AzuriteFixture.StartOwnAsync(Next));
        Assert.Contains("EADDRINUSE", error.Message, StringComparison.Ordinal);
        Assert.Equal(9, attempts);
    }
}
