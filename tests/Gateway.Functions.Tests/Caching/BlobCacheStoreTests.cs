using System.Globalization;
using Azure.Storage.Blobs;
using Gateway.Core.Auth;
using Gateway.Core.Caching;
using Gateway.Core.Protocol;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Functions.Tests.Caching;

/// <summary>The response cache's Azure Storage backend against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobCacheStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private BlobContainerClient NewContainer() => StorageConnection.FromConnectionString(azurite.ConnectionString).BlobContainer(azurite.UniqueName("cache"));

    private static CachedCompletion Entry(string id, string content = "hello") => new(
        $$"""{"id":"{{id}}","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{{content}}"},"finish_reason":"stop"}]}""",
        new TokenUsage(100, 20, 64, 8, 5, 3), "mock", Start);

    [Fact]
    public async Task An_entry_round_trips_and_the_container_is_created_on_first_write()
    {
        var container = NewContainer();
        var store = new BlobCacheStore(container, new FakeTimeProvider(Start));
        Assert.Null(await store.GetAsync("team:a|00ff", default)); // no container yet: a miss, not an error
        Assert.False((await container.ExistsAsync()).Value);

        await store.SetAsync("team:a|00ff", Entry("one"), TimeSpan.FromMinutes(5), default);

        Assert.Equal(Entry("one"), await store.GetAsync("team:a|00ff", default));
        var blob = container.GetBlobClient(BlobCacheStore.BlobName("team:a|00ff"));
        Assert.Equal("team~3Aa~7C00ff", blob.Name);
        var properties = (await blob.GetPropertiesAsync()).Value;
        Assert.Equal(Start.AddMinutes(5).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), properties.Metadata[BlobCacheStore.ExpiresMetadata]);
        Assert.Equal("application/json", properties.ContentType);
        Assert.Equal(CachedCompletionCodec.Encode(Entry("one")), (await blob.DownloadContentAsync()).Value.Content.ToArray());

        // a second write replaces the entry
        await store.SetAsync("team:a|00ff", Entry("two"), TimeSpan.FromMinutes(5), default);
        Assert.Equal(Entry("two"), await store.GetAsync("team:a|00ff", default));
    }

    [Fact]
    public async Task An_expired_entry_is_a_miss_and_is_deleted()
    {
        var container = NewContainer();
        var time = new FakeTimeProvider(Start);
        var store = new BlobCacheStore(container, time);
        await store.SetAsync("team:a|1", Entry("x"), TimeSpan.FromSeconds(60), default);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.NotNull(await store.GetAsync("team:a|1", default));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await store.GetAsync("team:a|1", default));
        Assert.False((await container.GetBlobClient(BlobCacheStore.BlobName("team:a|1")).ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_missing_key_and_an_unreadable_blob_are_misses()
    {
        var container = NewContainer();
        var store = new BlobCacheStore(container, new FakeTimeProvider(Start));
        await store.SetAsync("team:a|1", Entry("x"), TimeSpan.FromMinutes(5), default);
        Assert.Null(await store.GetAsync("team:a|2", default));

        // foreign content (or a future version) under a key
        var foreign = container.GetBlobClient(BlobCacheStore.BlobName("team:a|3"));
        await foreign.UploadAsync(BinaryData.FromString("""{"v":99}"""));
        await foreign.SetMetadataAsync(new Dictionary<string, string> { [BlobCacheStore.ExpiresMetadata] = Start.AddHours(1).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) });
        Assert.Null(await store.GetAsync("team:a|3", default));
    }

    [Fact]
    public async Task Teams_never_share_an_entry_whatever_their_names()
    {
        var container = NewContainer();
        var store = new BlobCacheStore(container, new FakeTimeProvider(Start));
        // scopes whose names contain the separators and the escape character itself
        string[] keys = ["team:a|h", "team:b|h", "key:a|h", "team:a~7Ch", "team:a|~7Ch", "team:a:b|h", "team:a/b|h", "team:ü|h", "team:a%7Ch"];
        foreach (var key in keys) await store.SetAsync(key, Entry(key), TimeSpan.FromMinutes(5), default);

        Assert.Equal(keys.Length, keys.Select(BlobCacheStore.BlobName).Distinct(StringComparer.Ordinal).Count());
        foreach (var key in keys) Assert.Equal(Entry(key), await store.GetAsync(key, default));
        Assert.Null(await store.GetAsync("team:c|h", default));
    }

    [Fact]
    public async Task A_2_MB_answer_round_trips()
    {
        var store = new BlobCacheStore(NewContainer(), new FakeTimeProvider(Start));
        var large = Entry("big", new string('x', 2 * 1024 * 1024));
        await store.SetAsync("team:a|big", large, TimeSpan.FromMinutes(5), default);
        Assert.Equal(large, await store.GetAsync("team:a|big", default));
    }

    [Fact]
    public void A_very_long_key_still_makes_a_valid_blob_name()
    {
        var name = BlobCacheStore.BlobName("team:" + new string('é', 600) + "|h");
        Assert.StartsWith("~h~", name, StringComparison.Ordinal);
        Assert.True(name.Length <= 1024);
        Assert.NotEqual(name, BlobCacheStore.BlobName("team:" + new string('é', 601) + "|h"));
    }

    [Fact]
    public async Task Two_instances_share_answers_through_storage()
    {
        var container = NewContainer();
        var keys = new InMemoryKeyStore();
        var time = new FakeTimeProvider(Start);
        var storeA = new SharedCacheGateways.TrackedStore(new TieredCacheStore(new BlobCacheStore(container, time), time, TimeSpan.FromSeconds(30)));
        var a = SharedCacheGateways.Instance(keys, storeA, time);
        var b = SharedCacheGateways.Instance(keys, new TieredCacheStore(new BlobCacheStore(container, time), time, TimeSpan.FromSeconds(30)), time);
        var alpha = await SharedCacheGateways.KeyAsync(a, "alpha");
        var beta = await SharedCacheGateways.KeyAsync(a, "beta");

        var first = await SharedCacheGateways.SendAsync(a, alpha);
        Assert.Equal(("miss", (int?)null), (first.Cache, first.Error));
        await storeA.WrittenAsync();
        var second = await SharedCacheGateways.SendAsync(b, alpha);
        Assert.Equal("hit", second.Cache);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal("miss", (await SharedCacheGateways.SendAsync(b, beta)).Cache); // another team: never shared
    }
}
