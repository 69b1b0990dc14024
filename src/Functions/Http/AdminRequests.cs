using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Dashboard;
using Gateway.Core.Errors;
using Microsoft.Extensions.Logging;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Gateway.Functions.Http;

/// <summary>
/// Admin endpoints: a request id, the admin key check, and OpenAI-shaped errors for everything. A route the dashboard
/// reads passes its <see cref="DashboardSessions"/>: it then also takes a dashboard session (the cookie with its header)
/// where no admin key is presented.
/// </summary>
public static partial class AdminRequests
{
    public static void Authorize(GatewayRuntime runtime, HttpRequest request, DashboardSessions? sessions = null)
    {
        var response = request.HttpContext.Response;
        response.Headers[GatewayHeaders.RequestId] = GatewayHeaders.RequestIdFrom(request.Headers[GatewayHeaders.RequestId]);
        var headers = new AspNetRequestHeaders(request.Headers);
        try
        {
            var presented = headers.Get("x-admin-key") ?? AuthenticationStage.PresentedKey(headers);
            if (sessions is null) runtime.Admin.Demand(presented);
            else sessions.Authorize(runtime.Admin, presented, request.Cookies[DashboardSessions.CookieName], headers.Get(DashboardSessions.CsrfHeader));
        }
        catch (GatewayException ex) when (ex.Error.Status == StatusCodes.Status401Unauthorized)
        {
            runtime.RefusedAuthentication.Count(ClientAddress.Of(request), ex.Error.Code ?? "invalid_admin_key");
            throw;
        }
    }

    /// <summary>Who is making an admin change, for the audit log.</summary>
    public static AuditActor Actor(HttpRequest request) => AuditActor.FromHeaders(new AspNetRequestHeaders(request.Headers), ClientAddress.Of(request));

    public static Task<IActionResult> RunJsonAsync(GatewayRuntime runtime, HttpRequest request, Func<CancellationToken, Task<(int Status, JsonObject Body)>> action,
        DashboardSessions? sessions = null) => RunJsonAsync(runtime, null, request, action, sessions);

    /// <summary>An admin route of a capability behind a feature flag: with the flag off, an authorised caller gets 404
    /// <c>feature_disabled</c> (an unauthorised one still gets 401) and the action does not run.</summary>
    public static async Task<IActionResult> RunJsonAsync(GatewayRuntime runtime, GatewayFeature? feature, HttpRequest request,
        Func<CancellationToken, Task<(int Status, JsonObject Body)>> action, DashboardSessions? sessions = null)
    {
        var response = request.HttpContext.Response;
        try
        {
            Authorize(runtime, request, sessions);
            if (feature is { } required) runtime.Features.Demand(required);
            var (status, body) = await action(request.HttpContext.RequestAborted).ConfigureAwait(false);
            await HttpResponses.WriteJsonAsync(response, status, body, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnexpected(request, ex);
            await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }

        return new EmptyResult();
    }

    /// <summary>
    /// Logs what is not an expected refusal (a gateway error below 500): a bug, a storage failure, a gateway error of
    /// 500 and up with its cause — as a redacted description (<see cref="ErrorDescription"/>), never a secret.
    /// </summary>
    public static void LogUnexpected(HttpRequest request, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ex is GatewayException { Error.Status: < 500 }) return;
        var logger = (request.HttpContext.RequestServices?.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger("Gateway.Functions.Requests");
        if (logger is null) return;
        Log.Unexpected(logger, request.Method, request.Path.Value ?? "", ErrorDescription.Of(ex));
    }

    private static partial class Log
    {
        [LoggerMessage(2101, LogLevel.Error, "{Method} {Path} failed unexpectedly: {Error}")]
        public static partial void Unexpected(ILogger logger, string method, string path, string error);
    }

    /// <summary>Runs an admin action that writes its own response (streamed exports).</summary>
    public static Task<IActionResult> RunStreamAsync(GatewayRuntime runtime, HttpRequest request, Func<CancellationToken, Task> action) =>
        RunStreamAsync(runtime, null, request, action);

    /// <summary>Runs an admin action that writes its own response, of a capability behind a feature flag (see <see cref="RunJsonAsync(GatewayRuntime, GatewayFeature?, HttpRequest, Func{CancellationToken, Task{ValueTuple{int, JsonObject}}}, DashboardSessions?)"/>).</summary>
    public static async Task<IActionResult> RunStreamAsync(GatewayRuntime runtime, GatewayFeature? feature, HttpRequest request, Func<CancellationToken, Task> action)
    {
        var response = request.HttpContext.Response;
        try
        {
            Authorize(runtime, request);
            if (feature is { } required) runtime.Features.Demand(required);
            await action(request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Before the first byte this is a normal error; after it, the export is cut short (the client sees a
            // truncated body and a reset connection rather than a silently partial file).
            LogUnexpected(request, ex);
            if (response.HasStarted) request.HttpContext.Abort();
            else await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }

        return new EmptyResult();
    }
}
