using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Microsoft.AspNetCore.Http;

namespace Gateway.Functions.Http;

/// <summary>Writes JSON bodies, OpenAI error bodies and gateway headers to an ASP.NET Core response.</summary>
public static class HttpResponses
{
    public static void ApplyHeaders(HttpResponse response, IEnumerable<KeyValuePair<string, string>> headers)
    {
        foreach (var (name, value) in headers) response.Headers[name] = value;
    }

    public static async Task WriteJsonAsync(HttpResponse response, int status, JsonNode body, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.Body);
        body.WriteTo(writer);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task WriteErrorAsync(HttpResponse response, GatewayError error, CancellationToken cancellationToken)
    {
        if (response.HasStarted) return;
        // 499 (client closed) has no listener; anything else is written as OpenAI would.
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        if (error.RetryAfterSeconds is { } retry) response.Headers["Retry-After"] = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await response.Body.WriteAsync(error.ToJsonBytes(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Maps any exception escaping a function to an error body: a gateway error as is, anything else as a 500 that hides the detail.</summary>
    public static GatewayError ErrorFor(Exception exception) => Errors.For(exception);
}
