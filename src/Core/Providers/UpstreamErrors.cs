using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;

namespace Gateway.Core.Providers;

/// <summary>
/// Maps an upstream failure to what the client sees. Upstream authentication failures become a 502
/// without the upstream's message, because providers echo part of the key in it.
/// </summary>
public static class UpstreamErrors
{
    public const int MaxRetryAfterSeconds = 3600;

    /// <summary>
    /// Whether a failed upstream call may still be on the provider's bill: it may have processed the request when the
    /// gateway gave up waiting (a timeout of its own, not the provider's 408), when the connection dropped after it was
    /// established, or when a 200 came back the gateway could not read. A refusal with an error status (429, 5xx, 400…)
    /// is not billed, nor is a connection that was never established (nothing was sent).
    /// </summary>
    public static bool MayHaveBeenBilled(GatewayException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.Error.Code switch
        {
            "upstream_timeout" => failure.InnerException is not null,
            "upstream_protocol_error" => true,
            "upstream_error" => failure.InnerException switch
            {
                HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } => false,
                HttpRequestException or IOException => true,
                _ => false,
            },
            _ => false,
        };
    }

    public static async Task<GatewayException> FromResponseAsync(HttpResponseMessage response, string provider, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? message = null;
        string? text = null;
        if (status is 400 or 413 or 422)
        {
            try
            {
                text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                message = ExtractMessage(text);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                message = null;
            }
        }

        if (status == 400 && text is not null && ContentFilter(text, provider) is { } filtered) return filtered;
        return status switch
        {
            429 => Errors.Errors.UpstreamRateLimited(RetryAfterSeconds(response), provider),
            400 or 422 => Errors.Errors.UpstreamBadRequest(provider, message ?? "no details given"),
            413 => new GatewayException(new GatewayError(413, $"The upstream provider ({provider}) rejected the request as too large: {message ?? "no details given"}", "invalid_request_error", null, "request_too_large")),
            408 => new GatewayException(new GatewayError(504, $"The upstream provider ({provider}) timed out.", "timeout", null, "upstream_timeout")),
            _ => Errors.Errors.UpstreamError(provider, status),
        };
    }

    /// <summary>
    /// Retry-After in whole seconds (rounded up) from retry-after, retry-after-ms or an HTTP date (counted from the
    /// response's own Date when it has one, else from <paramref name="time"/>'s now); capped at an hour.
    /// </summary>
    public static int? RetryAfterSeconds(HttpResponseMessage response, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
            return Cap((int)Math.Ceiling(millis / 1000));
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta) return Cap((int)Math.Ceiling(delta.TotalSeconds));
        if (retryAfter?.Date is { } date)
            return Cap((int)Math.Ceiling(Math.Max(0, (date - (response.Headers.Date ?? (time ?? TimeProvider.System).GetUtcNow())).TotalSeconds)));
        return null;
    }

    private static int Cap(int seconds) => Math.Clamp(seconds, 0, MaxRetryAfterSeconds);

    /// <summary>
    /// The provider's own content filter refusing the request (Azure OpenAI: 400 with <c>code: "content_filter"</c>):
    /// passed on as 400 <c>content_filter</c> — the code the gateway's own safety policy uses — with the provider's
    /// category results as <c>innererror</c>; never retried on another deployment (not a failure of this one).
    /// </summary>
    public static GatewayException? ContentFilter(string body, string provider)
    {
        JsonNode? error;
        try
        {
            error = JsonNode.Parse(body)?["error"];
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }

        if (error is not JsonObject e || (string?)(e["code"] as JsonValue) != "content_filter") return null;
        var inner = e["innererror"] as JsonObject;
        var message = ExtractMessage(body) ?? "the provider's content filter refused the request";
        return new GatewayException(new GatewayError(400, $"The upstream provider ({provider}) filtered the request: {message}", "invalid_request_error",
            (string?)(e["param"] as JsonValue) ?? "prompt", "content_filter")
        {
            InnerError = inner?.DeepClone().AsObject(),
        });
    }

    /// <summary>The categories a provider's filter result names as filtered (<c>azure.violence</c>…), sorted.</summary>
    public static IReadOnlyList<string> FilteredCategories(JsonNode? results) =>
        results is JsonObject categories
            ? [.. categories.Where(c => c.Value?["filtered"] is JsonValue f && f.TryGetValue<bool>(out var on) && on).Select(c => "provider." + c.Key).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The message of an OpenAI or Anthropic error body, cut to a sensible length.</summary>
    public static string? ExtractMessage(string body)
    {
        try
        {
            var node = JsonNode.Parse(body);
            var msg = (string?)(node?["error"]?["message"] as JsonValue) ?? (string?)(node?["message"] as JsonValue);
            return msg is null ? null : msg.Length > 1000 ? msg[..1000] : msg;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public static bool IsSuccess(HttpStatusCode code) => (int)code is >= 200 and < 300;
}
