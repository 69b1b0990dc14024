using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Dashboard;
using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Resilience;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions.Dashboard;

/// <summary>
/// The admin dashboard: <c>GET /gateway/dashboard</c> (the page) and <c>/gateway/dashboard/assets/{name}</c> (its script,
/// style sheet and icon), sign-in <c>POST /gateway/dashboard/session</c> (<c>{"admin_key": "…"}</c> for a session cookie),
/// <c>GET</c> the same to ask who is signed in, <c>DELETE</c> to sign out, and <c>GET /gateway/dashboard/breakers</c>
/// (this instance's circuit breakers). Every answer carries <see cref="DashboardHeaders"/>.
/// </summary>
public sealed class DashboardFunctions(GatewayRuntime runtime, DashboardSessions sessions, DashboardAssets assets, GatewayOptions options)
{
    private const int MaxSignInBytes = 4 * 1024;

    [Function("DashboardPage")]
    public Task<IActionResult> Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/dashboard")] HttpRequest request) =>
        ServeAsync(request, assets.Page, DashboardHeaders.Page);

    [Function("DashboardAsset")]
    public Task<IActionResult> Asset([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/dashboard/assets/{name}")] HttpRequest request, string name)
    {
        var asset = name == assets.Page.Name ? null : assets.Find(name);
        if (asset is not null) return ServeAsync(request, asset, DashboardHeaders.Asset(asset.ETag));
        HttpResponses.ApplyHeaders(request.HttpContext.Response, DashboardHeaders.Session);
        return WriteErrorAsync(request, Errors.NotFound($"The dashboard has no asset '{Bounded(name)}'."));
    }

    [Function("DashboardSignIn")]
    public async Task<IActionResult> SignIn([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "gateway/dashboard/session")] HttpRequest request)
    {
        var response = request.HttpContext.Response;
        HttpResponses.ApplyHeaders(response, DashboardHeaders.Session);
        try
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, MaxSignInBytes, request.HttpContext.RequestAborted).ConfigureAwait(false);
            var session = sessions.SignIn(runtime.Admin, AdminKeyOf(body), request.Headers[DashboardSessions.CsrfHeader].FirstOrDefault());
            response.Headers.Append("Set-Cookie", DashboardSessions.SetCookie(session, Secure(request), runtime.Time.GetUtcNow()));
            await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, SessionJson(session.ExpiresAt), request.HttpContext.RequestAborted).ConfigureAwait(false);
            return new EmptyResult();
        }
        catch (GatewayException ex) when (ex.Error.Status == StatusCodes.Status401Unauthorized)
        {
            runtime.RefusedAuthentication.Count(ClientAddress.Of(request), ex.Error.Code ?? "invalid_admin_key");
            return await WriteErrorAsync(request, ex).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AdminRequests.LogUnexpected(request, ex);
            return await WriteErrorAsync(request, ex).ConfigureAwait(false);
        }
    }

    /// <summary>Who is signed in: 200 with the session's end, 200 <c>signed_in: false</c> when no session is presented, 401 for one that is not valid.</summary>
    [Function("DashboardSession")]
    public async Task<IActionResult> Session([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/dashboard/session")] HttpRequest request)
    {
        var response = request.HttpContext.Response;
        HttpResponses.ApplyHeaders(response, DashboardHeaders.Session);
        try
        {
            var token = request.Cookies[DashboardSessions.CookieName];
            JsonObject body;
            if (string.IsNullOrEmpty(token)) body = new JsonObject { ["object"] = "dashboard_session", ["signed_in"] = false, ["sign_in_enabled"] = sessions.Sessions is not null };
            else body = SessionJson(sessions.Demand(token, request.Headers[DashboardSessions.CsrfHeader].FirstOrDefault()));
            await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, body, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return new EmptyResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AdminRequests.LogUnexpected(request, ex);
            // an invalid session must not linger in the browser
            if (ex is GatewayException { Error.Status: StatusCodes.Status401Unauthorized }) response.Headers.Append("Set-Cookie", DashboardSessions.ClearCookie(Secure(request)));
            return await WriteErrorAsync(request, ex).ConfigureAwait(false);
        }
    }

    /// <summary>Sign-out: the session cookie is cleared (the header is required, as for every call the page makes).</summary>
    [Function("DashboardSignOut")]
    public static async Task<IActionResult> SignOut([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/dashboard/session")] HttpRequest request)
    {
        var response = request.HttpContext.Response;
        HttpResponses.ApplyHeaders(response, DashboardHeaders.Session);
        if (request.Headers[DashboardSessions.CsrfHeader].FirstOrDefault()?.Trim() != "1")
            return await WriteErrorAsync(request, Errors.DashboardHeaderMissing(DashboardSessions.CsrfHeader)).ConfigureAwait(false);
        response.Headers.Append("Set-Cookie", DashboardSessions.ClearCookie(Secure(request)));
        response.StatusCode = StatusCodes.Status204NoContent;
        return new EmptyResult();
    }

    [Function("DashboardBreakers")]
    public Task<IActionResult> Breakers([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/dashboard/breakers")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, request, _ =>
            Task.FromResult((StatusCodes.Status200OK, BreakerReport.ToJson(runtime.Catalog, runtime.Breakers, options.Budgets.InstanceId ?? Environment.MachineName))), sessions);

    private static async Task<IActionResult> ServeAsync(HttpRequest request, DashboardAsset asset, IEnumerable<KeyValuePair<string, string>> headers)
    {
        var response = request.HttpContext.Response;
        HttpResponses.ApplyHeaders(response, headers);
        if (request.Headers.IfNoneMatch.Any(v => v == asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return new EmptyResult();
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        await response.Body.WriteAsync(asset.Content, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return new EmptyResult();
    }

    private static async Task<IActionResult> WriteErrorAsync(HttpRequest request, Exception ex)
    {
        await HttpResponses.WriteErrorAsync(request.HttpContext.Response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        return new EmptyResult();
    }

    /// <summary>The key from <c>{"admin_key": "…"}</c>; a body that is not that is a 400 (the key is never echoed).</summary>
    private static string AdminKeyOf(byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o && o["admin_key"] is JsonValue v && v.TryGetValue<string>(out var key) && key.Length > 0) return key;
        }
        catch (JsonException)
        {
            // answered below
        }

        throw Errors.InvalidRequest("The body must be a JSON object with the admin key as 'admin_key'.", "admin_key");
    }

    private static bool Secure(HttpRequest request) =>
        DashboardSessions.SecureCookie(request.Scheme, request.Headers["X-Forwarded-Proto"].FirstOrDefault(), request.Host.Value ?? "");

    private static JsonObject SessionJson(DateTimeOffset expiresAt) => new()
    {
        ["object"] = "dashboard_session",
        ["signed_in"] = true,
        ["expires_at"] = expiresAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
    };

    private static string Bounded(string s) => s.Length > 64 ? s[..64] + "…" : s;
}
