using Gateway.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Gateway.Core.Tests.Configuration;

public sealed class GatewayOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_bound_a_slow_reader_to_8_KiB()
    {
        var options = new GatewayOptions();
        Assert.Empty(options.Validate());
        Assert.Equal(8 * 1024, options.StreamBufferBytes);
    }

    [Fact]
    public void Stream_buffer_is_read_from_app_settings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Gateway:StreamBufferBytes"] = "32768" }).Build();
        Assert.Equal(32768, GatewayConfiguration.Load(configuration).StreamBufferBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    [InlineData(-1)]
    public void A_stream_buffer_below_4_KiB_is_refused_naming_the_setting(int bytes)
    {
        var error = Assert.Single(new GatewayOptions { StreamBufferBytes = bytes }.Validate());
        Assert.Contains("Gateway:StreamBufferBytes", error, StringComparison.Ordinal);
        Assert.Contains(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_timeout_of_zero_is_refused()
    {
        var error = Assert.Single(new GatewayOptions { StreamWriteTimeoutSeconds = 0 }.Validate());
        Assert.Contains("Gateway:StreamWriteTimeoutSeconds", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.5, "gateway-config/catalog.json", "Gateway:CatalogRefreshSeconds")]
    [InlineData(60, "catalog.json", "Gateway:CatalogBlob")]
    public void Where_and_how_often_a_replaced_model_catalog_is_read_is_checked(double seconds, string blob, string setting) =>
        Assert.Contains(setting, Assert.Single(new GatewayOptions { CatalogRefreshSeconds = seconds, CatalogBlob = blob }.Validate()), StringComparison.Ordinal);
}
