using System.Text.Json.Nodes;
using Gateway.Core.RateLimits;
using Gateway.Functions.Tests.Budgets;
using Gateway.Functions.Tests.Infrastructure;

namespace Gateway.Functions.Tests.RateLimits;

/// <summary>Rate limits through the real chat function and the real rate-limit entity class.</summary>
public sealed class RateLimitFunctionTests
{
    [Fact]
    public async Task Responses_carry_openai_rate_limit_headers_and_a_429_carries_retry_after()
    {
        var backend = new EntityHostChannel(TimeProvider.System);
        // The admission window is wall-clock time here (TimeProvider.System): the default 1.5 s ran out for the first
        // request once on a loaded 2-core machine with coverage on (no headers, undecided). 5 s is still far below the
        // ~20 s the fourth request would have to wait at 3 per minute, so it is refused, not kept waiting.
        var gateway = new TestGateway(
            configure: o =>
            {
                o.RateLimits = new RateLimitOptions { KeyRequestsPerMinute = 3, KeyTokensPerMinute = 100_000 };
                o.AdmissionTimeoutSeconds = 5;
            },
            rateLimits: new RateLimitGate(backend, TimeProvider.System, new RateLimitOptions { KeyRequestsPerMinute = 3, KeyTokensPerMinute = 100_000 }));
        var key = await gateway.CreateKeyAsync();

        var statuses = new List<int>();
        Microsoft.AspNetCore.Http.DefaultHttpContext? last = null;
        for (var i = 0; i < 4; i++)
        {
            last = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock-1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", key);
            await gateway.Chat.Run(last.Request);
            statuses.Add(last.Response.StatusCode);
            Assert.Equal("3", last.Response.Headers["x-ratelimit-limit-requests"].ToString());
            Assert.Equal("100000", last.Response.Headers["x-ratelimit-limit-tokens"].ToString());
            Assert.False(string.IsNullOrEmpty(last.Response.Headers["x-ratelimit-reset-requests"].ToString()));
            // never more than is left; a background fetch of the next allotment can make it one less for a moment
            if (i < 3) Assert.InRange(long.Parse(last.Response.Headers["x-ratelimit-remaining-requests"].ToString(), System.Globalization.CultureInfo.InvariantCulture), 1 - i, 2 - i);
        }

        Assert.Equal([200, 200, 200, 429], statuses);
        var retryAfter = int.Parse(last!.Response.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 20);
        var error = JsonNode.Parse(TestGateway.ResponseText(last))!["error"]!;
        Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
        Assert.Contains("key:", (string?)error["message"], StringComparison.Ordinal);
        Assert.NotNull(backend.Host.StoredState($"@{RateLimitEntityKind.EntityName}@key:" + (await gateway.Keys.ListAsync(default)).Single().Id));
    }
}
