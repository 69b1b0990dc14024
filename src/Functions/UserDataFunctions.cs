using Gateway.Core.Hosting;
using Gateway.Core.Privacy;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// An end user's data, for the admin key: <c>GET /gateway/users/{id}/data</c> streams everything kept about them as one
/// JSON document (GDPR Art. 15 and 20) and <c>DELETE /gateway/users/{id}/data</c> erases it (Art. 17) and answers what
/// was removed. <c>id</c> is the plain user id (as requests name it); records kept under its pseudonym are included.
/// The audit log names the caller as other admin changes do (<c>admin</c>, or <c>admin:&lt;name&gt;</c> from <c>x-gateway-actor</c>).
/// </summary>
public sealed class UserDataFunctions(GatewayRuntime runtime, UserDataService users)
{
    [Function("ExportUserData")]
    public Task<IActionResult> Export([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/users/{id}/data")] HttpRequest request, string id) =>
        AdminRequests.RunStreamAsync(runtime, request, async ct =>
        {
            UserDataService.ValidateUserId(id);
            var response = request.HttpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.Headers.ContentDisposition = "attachment; filename=\"user-data.json\"";
            request.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await users.ExportAsync(id, AdminRequests.Actor(request).Name, response.Body, ct).ConfigureAwait(false);
        });

    [Function("EraseUserData")]
    public Task<IActionResult> Erase([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/users/{id}/data")] HttpRequest request, string id) =>
        AdminRequests.RunJsonAsync(runtime, request, async ct =>
        {
            var erased = await users.EraseAsync(UserDataService.ValidateUserId(id), AdminRequests.Actor(request).Name, ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, erased.ToJson());
        });
}
