using Gateway.Core.Caching;

namespace Gateway.Core.Tests.Caching;

/// <summary>The cache settings are checked at startup, each problem naming its setting.</summary>
public sealed class CacheOptionsValidatorTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("storage")]
    [InlineData("redis")]
    [InlineData("Redis")]
    public void The_known_backends_are_valid(string backend) => Assert.Empty(CacheOptionsValidator.Validate(new CacheOptions { Backend = backend }));

    [Fact]
    public void An_unknown_backend_is_a_configuration_error()
    {
        var error = Assert.Single(CacheOptionsValidator.Validate(new CacheOptions { Backend = "memcached" }));
        Assert.Contains("Gateway:Cache:Backend 'memcached' is not known; use one of memory, storage, redis", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Backend_specific_settings_are_checked()
    {
        Assert.Contains(CacheOptionsValidator.Validate(new CacheOptions { Backend = "storage", StorageContainer = "Response_Cache" }), e => e.Contains("StorageContainer", StringComparison.Ordinal));
        Assert.Contains(CacheOptionsValidator.Validate(new CacheOptions { Backend = "redis", RedisConnectionSetting = " " }), e => e.Contains("RedisConnectionSetting", StringComparison.Ordinal));
        Assert.Contains(CacheOptionsValidator.Validate(new CacheOptions { LocalCopySeconds = -1 }), e => e.Contains("LocalCopySeconds", StringComparison.Ordinal));
        Assert.Empty(CacheOptionsValidator.Validate(new CacheOptions { Backend = "memory", StorageContainer = "x" })); // not used by memory
    }
}
