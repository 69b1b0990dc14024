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
            // these tests are about sharing, not about a slow store: Azurite on a loaded machine may take a while
            Cache = new CacheOptions { LookupTimeoutMs = 30_000 },
        };
        return new GatewayRuntime(options, TestSecrets.None, keys, _ => new HttpClient(), time, cache: cache, features: TestFeatures.Current);
    }

    public static async Task<string> KeyAsync(GatewayRuntime runtime, string team)
    {
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k-" + team, null, team, [], new Dictionary<string, string>()), default);
        return key;
    }

    /// <summary>A store whose writes a test can wait for (the gateway writes answers without holding the response).</summary>
    public sealed class TrackedStore(ICacheStore inner) : ICacheStore
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<Task> _writes = new();

        public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
        {
            var write = inner.SetAsync(key, value, ttl, cancellationToken).AsTask();
            _writes.Enqueue(write);
            return new ValueTask(write);
        }

        /// <summary>Completes when every write so far has reached the store.</summary>
        public Task WrittenAsync() => Task.WhenAll(_writes);
    }

    /// <summary>Sends a chat completion; returns the x-gateway-cache status, the error status (null when it succeeded) and the body.</summary>
    public static async Task<(string Cache, int? Error, string Body)> SendAsync(GatewayRuntime runtime, string key, string json = Request)
    {
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), json);
        return (sent.Context.ResponseHeaders.TryGetValue(CacheStage.StatusHeader, out var status) ? status : "", sent.Outcome.Error?.Status, sent.Text);
    }
}
