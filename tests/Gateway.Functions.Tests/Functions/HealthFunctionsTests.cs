using System.Text.Json.Nodes;
using Gateway.Core.Entities;
using Gateway.Core.Health;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions.Tests.Functions;

/// <summary>
/// <c>GET /health</c> and <c>GET /health/ready</c> as the app wires them (storage checks on <c>AzureWebJobsStorage</c>),
/// against Azurite, against a storage endpoint nobody listens on, and with a key Azurite refuses. Durable is the in-memory
/// entity store here (the Durable client only exists on the host; the end-to-end tests cover it), except where a test
/// leaves the app's own channel without a client.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HealthFunctionsTests(AzuriteFixture azurite)
{
    private const string Account = "devstoreaccount1";
    private const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static ServiceProvider Build(string storage, bool durableInMemory = true, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage,
            ["Gateway:Catalog:Deployments:0:Name"] = "mock-east",
            ["Gateway:Catalog:Deployments:0:Provider"] = "mock",
            ["Gateway:Catalog:Deployments:0:Model"] = "mock-1",
            ["Gateway:Catalog:Models:0:Name"] = "mock-1",
            ["Gateway:Catalog:Models:0:Deployments:0"] = "mock-east",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string?>()) settings[name] = value;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddGateway(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        if (durableInMemory) services.AddSingleton<IEntityChannel>(_ => LocalEntities.Create(TimeProvider.System));
        return services.BuildServiceProvider();
    }

    private static async Task<(int Status, string Text, JsonObject Body, string CacheControl)> ReadyAsync(IServiceProvider provider)
    {
        var functions = new HealthFunctions(provider.GetRequiredService<ReadinessProbe>(), provider.GetRequiredService<Entities.DurableEntityChannel>(),
            provider.GetRequiredService<Gateway.Core.Hosting.GatewayFeatures>());
        var context = TestGateway.Request("GET", "/health/ready");
        await functions.Ready(context.Request);
        var text = TestGateway.ResponseText(context);
        return (context.Response.StatusCode, text, JsonNode.Parse(text)!.AsObject(), context.Response.Headers.CacheControl.ToString());
    }

    private static Dictionary<string, JsonObject> Checks(JsonObject body) =>
        body["checks"]!.AsArray().ToDictionary(c => (string)c!["name"]!, c => c!.AsObject());

    private static void AssertNothingSecret(string text, params string[] more)
    {
        foreach (var hidden in new[] { Account, AzuriteKey, "AccountKey", "127.0.0.1", "localhost", "http://", "https://" }.Concat(more))
            Assert.DoesNotContain(hidden, text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Ready_lists_the_feature_flags_read_at_startup()
    {
        await using var provider = Build(azurite.ConnectionString, extra: new Dictionary<string, string?> { ["FeatureManagement:Safety"] = "false" });
        var (status, _, body, _) = await ReadyAsync(provider);
        Assert.Equal(200, status);
        var features = body["features"]!.AsObject();
        Assert.Equal(Gateway.Core.Hosting.GatewayFeatures.Names, features.Select(f => f.Key));
        Assert.All(features, f => Assert.Equal(f.Key != "Safety", (bool)f.Value!));
    }

    [Fact]
    public async Task Ready_answers_200_with_table_queue_blob_and_durable_healthy_against_azurite_and_reuses_the_results()
    {
        await using var provider = Build(azurite.ConnectionString, extra: new Dictionary<string, string?> { ["Gateway:Health:CacheSeconds"] = "300" });

        var (status, text, body, cacheControl) = await ReadyAsync(provider);

        Assert.Equal(200, status);
        Assert.Equal("no-store", cacheControl);
        Assert.Equal("healthy", (string?)body["status"]);
        var checks = Checks(body);
        Assert.Equal(["table", "queue", "blob", "durable"], checks.Keys);
        Assert.All(checks.Values, c =>
        {
            Assert.Equal("healthy", (string?)c["status"]);
            Assert.True((double)c["duration_ms"]! >= 0);
        });
        Assert.All(new[] { "table", "queue", "blob" }, name => Assert.StartsWith("reachable", (string?)checks[name]["detail"], StringComparison.Ordinal));
        Assert.StartsWith("entity store answered", (string?)checks["durable"]["detail"], StringComparison.Ordinal);
        var deployment = Assert.Single(body["deployments"]!.AsArray())!;
        Assert.Equal("mock-east", (string?)deployment["name"]);
        Assert.Equal("closed", (string?)deployment["breaker"]);
        AssertNothingSecret(text, new Uri(azurite.ConnectionString.Split("TableEndpoint=")[1].Split(';')[0]).Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var again = await ReadyAsync(provider);
        Assert.Equal((string?)body["checked_at"], (string?)again.Body["checked_at"]);
        Assert.Equal(1, provider.GetRequiredService<ReadinessProbe>().Runs);
    }

    [Fact]
    public async Task Not_ready_when_the_storage_endpoint_is_unreachable_and_liveness_still_answers()
    {
        var closed = LocalServerProcess.FreePort();
        var storage = $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AzuriteKey};" +
            $"BlobEndpoint=http://127.0.0.1:{closed}/{Account};QueueEndpoint=http://127.0.0.1:{closed}/{Account};TableEndpoint=http://127.0.0.1:{closed}/{Account};";
        await using var provider = Build(storage);

        var (status, text, body, _) = await ReadyAsync(provider);

        Assert.Equal(503, status);
        Assert.Equal("unhealthy", (string?)body["status"]);
        var checks = Checks(body);
        foreach (var name in new[] { "table", "queue", "blob" })
        {
            Assert.Equal("unhealthy", (string?)checks[name]["status"]);
            Assert.Equal("unreachable (ConnectionRefused)", (string?)checks[name]["detail"]);
        }

        Assert.Equal("healthy", (string?)checks["durable"]["status"]);
        AssertNothingSecret(text, closed.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var live = TestGateway.Request("GET", "/health");
        await HealthFunctions.Live(live.Request);
        Assert.Equal(200, live.Response.StatusCode);
        Assert.Equal("""{"status":"healthy"}""", TestGateway.ResponseText(live));
    }

    [Fact]
    public async Task A_key_the_storage_refuses_is_not_ready_showing_the_status_and_code_but_not_the_account_or_key()
    {
        const string wrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
        await using var provider = Build(azurite.ConnectionString.Replace(AzuriteKey, wrongKey, StringComparison.Ordinal));

        var (status, text, body, _) = await ReadyAsync(provider);

        Assert.Equal(503, status);
        var checks = Checks(body);
        foreach (var name in new[] { "table", "queue", "blob" })
        {
            Assert.Equal("unhealthy", (string?)checks[name]["status"]);
            Assert.Matches("^answered 403( [A-Za-z]+)?$", (string?)checks[name]["detail"]);
        }

        AssertNothingSecret(text, wrongKey);
    }

    [Fact]
    public async Task Without_a_durable_client_the_instance_is_not_ready()
    {
        await using var provider = Build(azurite.ConnectionString, durableInMemory: false);

        var (status, _, body, _) = await ReadyAsync(provider);

        Assert.Equal(503, status);
        var durable = Checks(body)["durable"];
        Assert.Equal("unhealthy", (string?)durable["status"]);
        Assert.Equal("no Durable client on this instance yet", (string?)durable["detail"]);
        Assert.Equal("healthy", (string?)Checks(body)["table"]["status"]);
    }

    [Fact]
    public async Task An_open_circuit_leaves_the_instance_ready_but_degraded()
    {
        await using var provider = Build(azurite.ConnectionString);
        var runtime = provider.GetRequiredService<Gateway.Core.Hosting.GatewayRuntime>();
        for (var i = 0; i < 20 && runtime.Breakers.StateOf("mock-east") != Polly.CircuitBreaker.CircuitState.Open; i++)
        {
            try
            {
                await runtime.Breakers.For("mock-east").ExecuteAsync<int>(_ => throw Gateway.Core.Errors.Errors.UpstreamError("mock", 503));
            }
            catch (Gateway.Core.Errors.GatewayException)
            {
            }
        }

        var (status, _, body, _) = await ReadyAsync(provider);

        Assert.Equal(200, status);
        Assert.Equal("degraded", (string?)body["status"]);
        var deployment = body["deployments"]![0]!;
        Assert.Equal("degraded", (string?)deployment["status"]);
        Assert.Equal("open", (string?)deployment["breaker"]);
    }
}
