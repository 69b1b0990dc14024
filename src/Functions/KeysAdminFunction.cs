using System.Text.Json.Nodes;
using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions;

/// <summary>
/// The key admin API under <c>/gateway/keys</c> (the Functions host reserves <c>/admin</c>), protected by
/// the admin key: create (the plain key is in the response once), list, revoke.
/// </summary>
public sealed class KeysAdminFunction(GatewayRuntime runtime)
{
    [Function("CreateKey")]
    public Task<IActionResult> Create([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "gateway/keys")] HttpRequest request) =>
        Admin(request, async ct =>
        {
            var body = await RequestBody.ReadAsync(request.Body, request.ContentLength, 64 * 1024, ct).ConfigureAwait(false);
            var (record, plain) = await runtime.Keys.CreateAsync(KeyAdministration.ParseCreate(body), ct).ConfigureAwait(false);
            // the audit view is the public one: never the plain key or its hash
            runtime.AdminAudit.Record(AdminRequests.Actor(request), AuditEventTypes.KeyCreated, "key:" + record.Id, null, KeyAdministration.ToJson(record), "key:" + record.Id);
            return (StatusCodes.Status201Created, KeyAdministration.ToJson(record, plain));
        });

    [Function("ListKeys")]
    public Task<IActionResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/keys")] HttpRequest request) =>
        Admin(request, async ct =>
        {
            var keys = await runtime.Keys.ListAsync(ct).ConfigureAwait(false);
            var data = new JsonArray(keys.Select(k => (JsonNode)KeyAdministration.ToJson(k)).ToArray());
            return (StatusCodes.Status200OK, new JsonObject { ["object"] = "list", ["data"] = data });
        });

    [Function("RevokeKey")]
    public Task<IActionResult> Revoke([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "gateway/keys/{id}")] HttpRequest request, string id) =>
        Admin(request, async ct =>
        {
            var record = await runtime.AdminAudit.ChangeAsync(AdminRequests.Actor(request), AuditEventTypes.KeyRevoked, "key:" + id,
                async c => (await runtime.Keys.ListAsync(c).ConfigureAwait(false)).FirstOrDefault(k => k.Id == id) is { } was ? KeyAdministration.ToJson(was) : null,
                c => runtime.Keys.RevokeAsync(id, c), revoked => KeyAdministration.ToJson(revoked), ct, scope: "key:" + id).ConfigureAwait(false);
            return (StatusCodes.Status200OK, KeyAdministration.ToJson(record));
        });

    private Task<IActionResult> Admin(HttpRequest request, Func<CancellationToken, Task<(int Status, JsonObject Body)>> action) =>
        AdminRequests.RunJsonAsync(runtime, request, action);
}
