using Gateway.Core.Caching;
using Gateway.Core.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions.Tests.Caching;

/// <summary>How the Functions app picks the response cache's backend from <c>Gateway:Cache:Backend</c>.</summary>
public sealed class CacheBackendWiringTests
{
    private static ServiceProvider Build(IDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>(settings)
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Catalog:Deployments:0:Name"] = "mock",
            ["Gateway:Catalog:Deployments:0:Provider"] = "mock",
            ["Gateway:Catalog:Deployments:0:Model"] = "mock-1",
            ["Gateway:Catalog:Models:0:Name"] = "mock-1",
            ["Gateway:Catalog:Models:0:Deployments:0"] = "mock",
        };
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddGateway(new ConfigurationBuilder().AddInMemoryCollection(all).Build());
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Memory_is_the_default_and_keeps_the_in_memory_store()
    {
        using var provider = Build(new Dictionary<string, string?>());
        Assert.IsType<InMemoryCacheStore>(provider.GetRequiredService<GatewayRuntime>().Cache);
    }

    [Fact]
    public void Storage_puts_the_blob_store_behind_a_local_copy()
    {
        using var provider = Build(new Dictionary<string, string?> { ["Gateway:Cache:Backend"] = "storage", ["Gateway:Cache:StorageContainer"] = "my-cache" });
        Assert.IsType<TieredCacheStore>(provider.GetRequiredService<GatewayRuntime>().Cache);
        Assert.Equal("my-cache", provider.GetRequiredService<Gateway.Storage.BlobCacheStore>().Container.Name);
    }

    [Fact]
    public async Task Redis_reads_the_connection_string_from_the_named_setting()
    {
        await using var provider = Build(new Dictionary<string, string?>
        {
            ["Gateway:Cache:Backend"] = "redis",
            ["Gateway:Cache:RedisConnectionSetting"] = "MY_REDIS",
            ["MY_REDIS"] = "127.0.0.1:6379,password=s3cret",
        });
        Assert.IsType<TieredCacheStore>(provider.GetRequiredService<GatewayRuntime>().Cache);
        Assert.NotNull(provider.GetRequiredService<Gateway.Storage.RedisCacheStore>());
    }

    [Fact]
    public void Redis_without_its_connection_string_stops_startup_naming_the_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new Dictionary<string, string?> { ["Gateway:Cache:Backend"] = "redis" }));
        Assert.Contains("'Gateway__Cache__RedisConnection'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unparsable_redis_connection_string_stops_startup_without_echoing_it()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new Dictionary<string, string?>
        {
            ["Gateway:Cache:Backend"] = "redis",
            ["Gateway__Cache__RedisConnection"] = "127.0.0.1:6379,password=s3cret,bogusOption=zzz",
        }));
        Assert.Contains("'Gateway__Cache__RedisConnection'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_backend_is_a_configuration_error()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(new Dictionary<string, string?> { ["Gateway:Cache:Backend"] = "memcached" }));
        Assert.Contains("Gateway:Cache:Backend 'memcached' is not known", ex.Message, StringComparison.Ordinal);
    }
}
