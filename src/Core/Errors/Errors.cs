using System.Globalization;

namespace Gateway.Core.Errors;

/// <summary>The gateway's errors, with the status codes and types OpenAI uses for the same situation.</summary>
public static class Errors
{
    public static GatewayException InvalidRequest(string message, string? param = null, string? code = null) =>
        new(new GatewayError(400, message, "invalid_request_error", param, code));

    public static GatewayException InvalidJson(string detail) =>
        InvalidRequest($"We could not parse the JSON body of your request. ({detail})", null, "invalid_json");

    public static GatewayException PayloadTooLarge(long limitBytes) =>
        new(new GatewayError(413, $"The request body exceeds the maximum of {limitBytes.ToString(CultureInfo.InvariantCulture)} bytes.", "invalid_request_error", null, "request_too_large"));

    public static GatewayException MissingKey() =>
        new(new GatewayError(401, "You didn't provide an API key. Provide your gateway key in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).", "invalid_request_error", null, "missing_api_key"));

    public static GatewayException InvalidKey() =>
        new(new GatewayError(401, "Incorrect API key provided. The key is unknown or has been revoked.", "invalid_request_error", null, "invalid_api_key"));

    public static GatewayException InvalidAdminKey() =>
        new(new GatewayError(401, "The admin API requires a valid admin key (Authorization: Bearer ADMIN_KEY).", "invalid_request_error", null, "invalid_admin_key"));

    public static GatewayException AdminDisabled() =>
        new(new GatewayError(403, "The admin API is disabled: no admin key is configured (setting Gateway:AdminKey).", "permission_error", null, "admin_disabled"));

    public static GatewayException InvalidSession() =>
        new(new GatewayError(401, "The dashboard session is missing, invalid or has expired: sign in again with the admin key.", "invalid_request_error", null, "invalid_session"));

    public static GatewayException DashboardHeaderMissing(string header) =>
        new(new GatewayError(403, $"A request authorised by the dashboard session must carry the header '{header}: 1'.", "permission_error", null, "csrf_check_failed"));

    public static GatewayException DashboardDisabled(string why) =>
        new(new GatewayError(403, why, "permission_error", null, "dashboard_disabled"));

    public static GatewayException ModelNotAllowed(string model) =>
        new(new GatewayError(403, $"Your key is not allowed to use the model '{model}'.", "permission_error", "model", "model_not_allowed"));

    public static GatewayException ModelNotFound(string model) =>
        new(new GatewayError(404, $"The model '{model}' does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found"));

    public static GatewayException NotFound(string message) =>
        new(new GatewayError(404, message, "invalid_request_error", null, "not_found"));

    public static GatewayException MethodNotAllowed(string method) =>
        new(new GatewayError(405, $"Method {method} is not allowed for this endpoint.", "invalid_request_error", null, "method_not_allowed"));

    public static GatewayException UnsupportedParameter(string param, string message) =>
        InvalidRequest(message, param, "unsupported_parameter");

    public static GatewayException UpstreamRateLimited(int? retryAfterSeconds, string provider) =>
        new(new GatewayError(429, $"The upstream provider ({provider}) is rate limiting requests. Retry after the time given in Retry-After.", "rate_limit_exceeded", null, "rate_limit_exceeded")
        { RetryAfterSeconds = retryAfterSeconds });

    public static GatewayException UpstreamError(string provider, int? status, Exception? inner = null) =>
        new(new GatewayError(502, status is null
            ? $"The upstream provider ({provider}) could not be reached."
            : $"The upstream provider ({provider}) returned an error (HTTP {status.Value.ToString(CultureInfo.InvariantCulture)}).", "api_error", null, "upstream_error"), inner);

    public static GatewayException UpstreamBadRequest(string provider, string upstreamMessage) =>
        new(new GatewayError(400, $"The upstream provider ({provider}) rejected the request: {upstreamMessage}", "invalid_request_error", null, "upstream_invalid_request"));

    public static GatewayException UpstreamTimeout(string provider, TimeSpan timeout) =>
        new(new GatewayError(504, $"The upstream provider ({provider}) did not answer within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", "timeout", null, "upstream_timeout"));

    public static GatewayException UpstreamProtocol(string provider, string detail) =>
        new(new GatewayError(502, $"The upstream provider ({provider}) sent a response the gateway could not read: {detail}", "api_error", null, "upstream_protocol_error"));

    /// <summary>A budget on the request's path has no room for it (or is stopped): 429 naming the budget's scope.</summary>
    public static GatewayException BudgetExceeded(string scope, bool stopped, decimal spentUsd, decimal limitUsd, DateTimeOffset periodEnd) =>
        new(new GatewayError(429, stopped
                ? $"The budget '{scope}' is stopped: requests on it are refused until it is resumed."
                : string.Create(CultureInfo.InvariantCulture, $"The budget '{scope}' has no room for this request: {spentUsd:0.######} of {limitUsd:0.######} USD spent or reserved this period, which ends {periodEnd:yyyy-MM-ddTHH:mm:ssZ}."),
            "insufficient_quota", null, stopped ? "budget_stopped" : "insufficient_quota"));

    /// <summary>
    /// A shared counter deciding requests one at a time near its limit did not decide this one within the admission
    /// window: 429 with Retry-After, so the client retries rather than waits in a queue.
    /// </summary>
    public static GatewayException AdmissionUndecided(string what) =>
        new(new GatewayError(429, $"Requests on {what} are being decided one at a time near its limit, and this one could not be decided in time. Retry after the time given in Retry-After.",
            "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = 1 });

    /// <summary>A store the request depends on (budgets, rate limits) could not be reached: fail closed, never a 500.</summary>
    public static GatewayException DependencyUnavailable(string what, string code, Exception inner) =>
        new(new GatewayError(503, $"The gateway could not check {what}; the request was not sent. Retry shortly.", "api_error", null, code) { RetryAfterSeconds = 1 }, inner);

    /// <summary>Too many keys this instance has never seen, at once: the lookup is not made (a flood of guessed keys).</summary>
    public static GatewayException TooManyUnknownKeys() =>
        new(new GatewayError(429, "Too many requests with keys this gateway instance does not know; retry shortly.", "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = 1 });

    public static GatewayException Internal() =>
        new(new GatewayError(500, "The gateway had an internal error while handling your request.", "api_error", null, "internal_error"));

    /// <summary>What the client is answered for an exception: a gateway error as it is, anything else a 500 <c>internal_error</c>.</summary>
    public static GatewayError For(Exception exception) => exception is GatewayException g ? g.Error : Internal().Error;
}
