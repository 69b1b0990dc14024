using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Caching;

/// <summary>Tests that use Redis share one <see cref="RedisFixture"/> per test assembly.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "Redis";
}

/// <summary>Gateway instances (runtimes) over one key store, each with its own cache store: "instances" sharing a backend.</summary>
internal static class SharedCacheGateways
{
    public const string Request = """{"model":"mock-1","temperature":0,"messages":[{"role":"user","content":"shared question"}]}""";

    public static GatewayRuntime Instance(IKeyStore keys, ICacheStore cache, TimeProvider time)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" }],
                Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }],
            },
        };
        return new GatewayRuntime(options, TestSecrets.None, keys, _ => new HttpClient(), time, cache: cache);
    }

    public static async Task<string> KeyAsync(GatewayRuntime runtime, string team)
    {
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k-" + team, null, team, [], new Dictionary<string, string>()), default);
        return key;
    }

    /// <summary>Sends a chat completion; returns the x-gateway-cache status, the error status (null when it succeeded) and the body.</summary>
    public static async Task<(string Cache, int? Error, string Body)> SendAsync(GatewayRuntime runtime, string key, string json = Request)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, runtime.Time, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        var text = outcome.Result is GatewayResult.Completion c ? c.Body.ToJsonString() : "";
        await context.CompleteAsync();
        return (context.ResponseHeaders.TryGetValue(CacheStage.StatusHeader, out var status) ? status : "", outcome.Error?.Status, text);
    }
}
