using Gateway.Core.Errors;

namespace Gateway.Core.Tests.Diagnostics;

/// <summary>What is logged of an exception: its chain, types and messages, with anything like a credential removed.</summary>
public sealed class ErrorDescriptionTests
{
    [Fact]
    public void The_chain_is_described_outermost_first_with_types()
    {
        var ex = new InvalidOperationException("outer", new HttpRequestException("Connection refused (127.0.0.1:9)"));
        Assert.Equal("InvalidOperationException: outer <- HttpRequestException: Connection refused (127.0.0.1:9)", ErrorDescription.Of(ex));
    }

    [Theory]
    [InlineData("GET https://x.openai.azure.com/openai?api-key=abc123def failed", "abc123def")]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig was refused", "eyJhbGciOiJIUzI1NiJ9")]
    [InlineData("invalid key sk-proj-AbCdEf0123456789 for org", "AbCdEf0123456789")]
    [InlineData("gateway key sk-gw-9f8e7d6c5b4a3 not found", "9f8e7d6c5b4a3")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4==;EndpointSuffix=core.windows.net", "Zm9vYmFyYmF6cXV4")]
    [InlineData("https://acct.blob.core.windows.net/c/b?sv=2024&sig=AbC%2Bdef%3D&se=2026", "AbC%2Bdef")]
    public void Credentials_in_messages_are_redacted(string message, string secret)
    {
        var text = ErrorDescription.Of(new HttpRequestException(message, new IOException(message)));
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.Contains("***", text, StringComparison.Ordinal);
    }
}
