using Gateway.Core.Auth;
using Gateway.Core.Caching;
using Gateway.Core.Protocol;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Functions.Tests.Caching;

/// <summary>The response cache's Redis backend against a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisCacheStoreTests(RedisFixture redis) : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync() => _connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private static string UniqueKey(string team = "a") => $"team:{team}|{Guid.NewGuid():N}";

    private static CachedCompletion Entry(string id, string content = "hello") => new(
        $$"""{"id":"{{id}}","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{{content}}"},"finish_reason":"stop"}]}""",
        new TokenUsage(100, 20, 64, 8, 5, 3), "mock", Start);

    [Fact]
    public async Task An_entry_round_trips_under_the_gateway_prefix_as_codec_bytes()
    {
        await using var store = new RedisCacheStore(redis.Endpoint);
        var key = UniqueKey();
        await store.SetAsync(key, Entry("one"), TimeSpan.FromMinutes(5), default);

        Assert.Equal(Entry("one"), await store.GetAsync(key, default));
        var raw = await _connection.GetDatabase().StringGetAsync("llmgw:cache:" + key);
        Assert.Equal(CachedCompletionCodec.Encode(Entry("one")), (byte[])raw!);

        await store.SetAsync(key, Entry("two"), TimeSpan.FromMinutes(5), default);
        Assert.Equal(Entry("two"), await store.GetAsync(key, default));
    }

    [Fact]
    public async Task The_entry_expires_through_redis_with_the_entry_ttl()
    {
        await using var store = new RedisCacheStore(_connection);
        var key = UniqueKey();
        var ttl = TimeSpan.FromSeconds(90);
        await store.SetAsync(key, Entry("x"), ttl, default);

        var remaining = await _connection.GetDatabase().KeyTimeToLiveAsync(RedisCacheStore.KeyFor(key));
        Assert.NotNull(remaining);
        Assert.InRange(remaining.Value, TimeSpan.FromTicks(1), ttl);

        // sub-second precision is kept (PX, not EX)
        var shortKey = UniqueKey();
        await store.SetAsync(shortKey, Entry("y"), TimeSpan.FromMilliseconds(1500) + TimeSpan.FromMinutes(10), default);
        var shortRemaining = await _connection.GetDatabase().KeyTimeToLiveAsync(RedisCacheStore.KeyFor(shortKey));
        Assert.InRange(shortRemaining!.Value, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(1500) + TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task A_missing_key_and_a_foreign_value_are_misses()
    {
        await using var store = new RedisCacheStore(_connection);
        Assert.Null(await store.GetAsync(UniqueKey(), default));
        var foreign = UniqueKey();
        await _connection.GetDatabase().StringSetAsync(RedisCacheStore.KeyFor(foreign), "not a cache entry");
        Assert.Null(await store.GetAsync(foreign, default));
    }

    [Fact]
    public async Task Teams_never_share_an_entry()
    {
        await using var store = new RedisCacheStore(_connection);
        var hash = Guid.NewGuid().ToString("N");
        await store.SetAsync($"team:a|{hash}", Entry("a"), TimeSpan.FromMinutes(5), default);
        await store.SetAsync($"team:b|{hash}", Entry("b"), TimeSpan.FromMinutes(5), default);
        Assert.Equal(Entry("a"), await store.GetAsync($"team:a|{hash}", default));
        Assert.Equal(Entry("b"), await store.GetAsync($"team:b|{hash}", default));
        Assert.Null(await store.GetAsync($"team:c|{hash}", default));
    }

    [Fact]
    public async Task A_2_MB_answer_round_trips()
    {
        await using var store = new RedisCacheStore(_connection);
        var key = UniqueKey();
        var large = Entry("big", new string('x', 2 * 1024 * 1024));
        await store.SetAsync(key, large, TimeSpan.FromMinutes(5), default);
        Assert.Equal(large, await store.GetAsync(key, default));
    }

    [Fact]
    public async Task Unreachable_redis_is_a_miss_behind_the_local_copy_and_never_fails_the_store()
    {
        await using var down = new RedisCacheStore($"127.0.0.1:{LocalServerProcess.FreePort()},connectTimeout=1000,connectRetry=0");
        await Assert.ThrowsAnyAsync<RedisException>(async () => await down.GetAsync("team:a|1", default)); // the store itself reports it
        var time = new FakeTimeProvider(Start);
        var tiered = new TieredCacheStore(down, time, TimeSpan.FromSeconds(30));

        Assert.Null(await tiered.GetAsync("team:a|1", default));
        await tiered.SetAsync("team:a|1", Entry("x"), TimeSpan.FromMinutes(5), default);
        Assert.Equal(Entry("x"), await tiered.GetAsync("team:a|1", default)); // this instance's copy
        Assert.Equal(2, tiered.SharedFailures);
    }

    [Fact]
    public async Task Unreachable_redis_does_not_fail_a_request()
    {
        await using var down = new RedisCacheStore($"127.0.0.1:{LocalServerProcess.FreePort()},connectTimeout=1000,connectRetry=0");
        var time = new FakeTimeProvider(Start);
        var tiered = new TieredCacheStore(down, time, TimeSpan.FromSeconds(30));
        var gateway = SharedCacheGateways.Instance(new InMemoryKeyStore(), tiered, time);
        var key = await SharedCacheGateways.KeyAsync(gateway, "alpha");

        var (cache, error, body) = await SharedCacheGateways.SendAsync(gateway, key);

        Assert.Null(error);
        Assert.Equal("miss", cache);
        Assert.Contains("chat.completion", body, StringComparison.Ordinal);
        Assert.True(tiered.SharedFailures >= 2);
    }

    [Fact]
    public async Task Two_instances_share_answers_through_redis()
    {
        var keys = new InMemoryKeyStore();
        var time = new FakeTimeProvider(Start);
        await using var storeA = new RedisCacheStore(redis.Endpoint);
        await using var storeB = new RedisCacheStore(redis.Endpoint);
        var trackedA = new SharedCacheGateways.TrackedStore(new TieredCacheStore(storeA, time, TimeSpan.FromSeconds(30)));
        var a = SharedCacheGateways.Instance(keys, trackedA, time);
        var b = SharedCacheGateways.Instance(keys, new TieredCacheStore(storeB, time, TimeSpan.FromSeconds(30)), time);
        var team = "t" + Guid.NewGuid().ToString("N");
        var key = await SharedCacheGateways.KeyAsync(a, team);

        var first = await SharedCacheGateways.SendAsync(a, key);
        Assert.Equal(("miss", (int?)null), (first.Cache, first.Error));
        await trackedA.WrittenAsync();
        var second = await SharedCacheGateways.SendAsync(b, key);
        Assert.Equal("hit", second.Cache);
        Assert.Equal(first.Body, second.Body);
    }
}
