using System.Text;
using Gateway.Core.Caching;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Caching;

/// <summary>How shared backends store a cached answer: versioned JSON that round-trips, and never throws on reading.</summary>
public sealed class CachedCompletionCodecTests
{
    private static readonly CachedCompletion Sample = new(
        """{"id":"chatcmpl-1","object":"chat.completion","created":1764064800,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"h\u00e9llo \"world\"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200}}""",
        new TokenUsage(1200, 340, CachedPromptTokens: 1024, CacheWriteTokens: 150, ReasoningTokens: 77, CacheWrite1hTokens: 60),
        "azure-east",
        new DateTimeOffset(2026, 11, 25, 10, 0, 0, 123, TimeSpan.FromHours(1)).AddTicks(4567));

    [Fact]
    public void An_entry_round_trips_with_every_usage_field()
    {
        var decoded = CachedCompletionCodec.Decode(CachedCompletionCodec.Encode(Sample));
        Assert.NotNull(decoded);
        Assert.Equal(Sample.Body, decoded.Body);
        Assert.Equal(Sample.Usage, decoded.Usage);
        Assert.Equal(Sample.Deployment, decoded.Deployment);
        Assert.Equal(Sample.CreatedAt, decoded.CreatedAt);
        Assert.Equal(Sample.CreatedAt.Offset, decoded.CreatedAt.Offset);
        Assert.Equal(Sample, decoded);
    }

    [Fact]
    public void The_request_that_created_an_entry_round_trips_and_an_entry_without_one_still_reads()
    {
        var owned = Sample with { RequestId = "req_0123456789abcdef" };
        Assert.Equal(owned, CachedCompletionCodec.Decode(CachedCompletionCodec.Encode(owned)));
        Assert.DoesNotContain("requestId", Encoding.UTF8.GetString(CachedCompletionCodec.Encode(Sample)), StringComparison.Ordinal);
        Assert.Null(CachedCompletionCodec.Decode(CachedCompletionCodec.Encode(Sample))!.RequestId);
        var foreign = Encoding.UTF8.GetString(CachedCompletionCodec.Encode(owned)).Replace("\"req_0123456789abcdef\"", "7", StringComparison.Ordinal);
        Assert.Null(CachedCompletionCodec.Decode(Encoding.UTF8.GetBytes(foreign)));
    }

    [Fact]
    public void The_encoding_is_compact_versioned_json_with_the_body_as_json()
    {
        var text = Encoding.UTF8.GetString(CachedCompletionCodec.Encode(Sample));
        Assert.StartsWith("""{"v":1,"body":{"id":"chatcmpl-1",""", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", text, StringComparison.Ordinal);
        Assert.Contains("\"reasoning\":77", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_body_round_trips()
    {
        var content = new string('x', 2 * 1024 * 1024);
        var entry = Sample with { Body = $$$"""{"choices":[{"message":{"content":"{{{content}}}"}}]}""" };
        Assert.Equal(entry, CachedCompletionCodec.Decode(CachedCompletionCodec.Encode(entry)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{}")]
    [InlineData("""{"v":2,"body":{},"usage":{"prompt":1,"completion":1},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":"1","body":{},"usage":{"prompt":1,"completion":1},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":"{}","usage":{"prompt":1,"completion":1},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"completion":1},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"prompt":-1,"completion":1},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"prompt":1,"completion":1,"cached":1.5},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"prompt":1,"completion":1},"deployment":7,"createdAt":"2026-11-25T10:00:00Z"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"prompt":1,"completion":1},"deployment":"d","createdAt":"yesterday"}""")]
    [InlineData("""{"v":1,"body":{},"usage":{"prompt":1,"completion":1},"deployment":"d"}""")]
    public void Garbage_and_unknown_versions_decode_to_null(string text) =>
        Assert.Null(CachedCompletionCodec.Decode(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void Truncated_and_random_bytes_decode_to_null()
    {
        var bytes = CachedCompletionCodec.Encode(Sample);
        for (var length = 0; length < bytes.Length; length += 7) Assert.Null(CachedCompletionCodec.Decode(bytes.AsMemory(0, length)));
        var random = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            var noise = new byte[random.Next(1, 300)];
            random.NextBytes(noise);
            Assert.Null(CachedCompletionCodec.Decode(noise));
        }
    }

    [Fact]
    public void A_minimal_version_1_entry_reads_missing_optional_counts_as_zero()
    {
        var decoded = CachedCompletionCodec.Decode(Encoding.UTF8.GetBytes(
            """{"v":1,"body":{"id":"x"},"usage":{"prompt":3,"completion":4},"deployment":"d","createdAt":"2026-11-25T10:00:00Z"}"""));
        Assert.NotNull(decoded);
        Assert.Equal(new TokenUsage(3, 4), decoded.Usage);
        Assert.Equal("""{"id":"x"}""", decoded.Body);
    }
}
