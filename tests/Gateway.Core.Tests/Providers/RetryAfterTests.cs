using Gateway.Core.Providers;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Providers;

/// <summary>Retry-After from a provider: seconds, milliseconds, or an HTTP date counted from the response's own clock.</summary>
public sealed class RetryAfterTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_http_date_counts_from_the_responses_date_not_from_this_machines_clock()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.Date = Noon;
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(Noon.AddSeconds(30));
        // this machine's clock is an hour off: the provider's own Date still gives 30 s
        Assert.Equal(30, UpstreamErrors.RetryAfterSeconds(response, new FakeTimeProvider(Noon.AddHours(1))));
    }

    [Fact]
    public void Without_a_date_header_an_http_date_counts_from_the_time_provider()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(Noon.AddSeconds(45));
        Assert.Equal(45, UpstreamErrors.RetryAfterSeconds(response, new FakeTimeProvider(Noon)));
        Assert.Equal(0, UpstreamErrors.RetryAfterSeconds(response, new FakeTimeProvider(Noon.AddMinutes(5))));
    }
}
