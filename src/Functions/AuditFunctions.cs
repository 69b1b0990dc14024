using System.Text;
using Gateway.Core.Audit;
using Gateway.Core.Hosting;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>
/// The audit log: the queue-triggered writer and the sealing and retention timers, and, for the admin key,
/// <c>GET /gateway/audit/events</c> (search, JSON or CSV, streamed), <c>/verify</c>, <c>/proof</c> (inclusion),
/// <c>/consistency</c>, <c>/checkpoints</c>, <c>/export</c> (for the offline verifier), <c>/public-key</c> and <c>/report</c>.
/// </summary>
public sealed partial class AuditFunctions(GatewayRuntime runtime, AuditServices audit, ILogger<AuditFunctions> logger)
{
    /// <summary>The app setting holding the sealing timer's schedule (<c>0 */5 * * * *</c> in the templates).</summary>
    public const string SealScheduleSetting = "GATEWAY_AUDIT_SEAL_SCHEDULE";

    /// <summary>The app setting holding the audit retention timer's schedule (<c>0 41 3 * * *</c> in the templates).</summary>
    public const string RetentionScheduleSetting = "GATEWAY_AUDIT_RETENTION_SCHEDULE";

    /// <summary>
    /// Appends a message's events to the log. Redelivery appends nothing twice (event ids are idempotency keys); a message
    /// that is not audit events goes to the poison queue whole, with a log line, and is not retried.
    /// </summary>
    [Function("WriteAudit")]
    public async Task WriteAudit([QueueTrigger(AuditServices.Queue, Connection = "AzureWebJobsStorage")] string message, CancellationToken cancellationToken)
    {
        IReadOnlyList<AuditEvent> events;
        try
        {
            events = AuditEventCodec.Decode(message);
        }
        catch (FormatException ex)
        {
            await audit.PoisonQueueClient.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await audit.PoisonQueueClient.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(message)), cancellationToken).ConfigureAwait(false);
            LogPoisoned(ex.Message);
            return;
        }

        var log = await audit.LogAsync(cancellationToken).ConfigureAwait(false);
        var result = await log.AppendAsync(events, cancellationToken).ConfigureAwait(false);
        LogWritten(result.Appended, result.Duplicates, result.Size, result.Sealed?.TreeSize ?? 0);
    }

    /// <summary>Every 5 minutes (setting <see cref="SealScheduleSetting"/>): seals what was appended since the last checkpoint.</summary>
    [Function("SealAudit")]
    public async Task Seal([TimerTrigger("%" + SealScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        // audit off: nothing new is recorded, so nothing is sealed (what the writer still drains from the queue is sealed once audit is back on)
        if (!runtime.Features.Audit) return;
        // the refused-authentication counts of finished minutes go out even when no refusal comes to flush them
        runtime.RefusedAuthentication.Flush();
        var log = await audit.LogAsync(cancellationToken).ConfigureAwait(false);
        if (await log.SealAsync(cancellationToken).ConfigureAwait(false) is { } sealedNow) LogSealed(sealedNow.TreeSize);
    }

    /// <summary>Daily (setting <see cref="RetentionScheduleSetting"/>): deletes sealed segments past <c>Gateway:Audit:RetentionDays</c>.</summary>
    [Function("AuditRetention")]
    public async Task Retention([TimerTrigger("%" + RetentionScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        var log = await audit.LogAsync(cancellationToken).ConfigureAwait(false);
        LogRetained(await log.ApplyRetentionAsync(cancellationToken).ConfigureAwait(false));
    }

    [Function("AuditEvents")]
    public Task<IActionResult> Events([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/events")] HttpRequest request) =>
        AdminRequests.RunStreamAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var (query, format) = AuditRequests.ParseEvents(n => request.Query[n].FirstOrDefault());
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            var response = request.HttpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = format == "csv" ? "text/csv; charset=utf-8" : "application/json";
            request.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var entries = log.QueryAsync(query, ct);
            if (format == "csv") await AuditRequests.WriteCsvAsync(entries, response.Body, ct).ConfigureAwait(false);
            else await AuditRequests.WriteJsonAsync(entries, response.Body, ct).ConfigureAwait(false);
        });

    [Function("AuditVerify")]
    public Task<IActionResult> Verify([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/verify")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var from = AuditRequests.Sequence(n => request.Query[n].FirstOrDefault(), "from");
            var to = AuditRequests.Sequence(n => request.Query[n].FirstOrDefault(), "to");
            if (from > to) throw Core.Errors.Errors.InvalidRequest("'to' must not be before 'from'.", "to");
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, AuditReport.Describe(await log.VerifyAsync(from, to, ct).ConfigureAwait(false)));
        });

    [Function("AuditProof")]
    public Task<IActionResult> Proof([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/proof")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var sequence = AuditRequests.Required(n => request.Query[n].FirstOrDefault(), "sequence");
            var size = AuditRequests.Sequence(n => request.Query[n].FirstOrDefault(), "tree_size", 1);
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            var proof = await log.InclusionProofAsync(sequence, size, ct).ConfigureAwait(false)
                ?? throw Core.Errors.Errors.NotFound($"No checkpoint{(size is null ? "" : " of size " + size)} seals entry {sequence}, or its entries are past retention.");
            return (StatusCodes.Status200OK, proof);
        });

    [Function("AuditConsistency")]
    public Task<IActionResult> Consistency([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/consistency")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var first = AuditRequests.Required(n => request.Query[n].FirstOrDefault(), "first", 1);
            var second = AuditRequests.Required(n => request.Query[n].FirstOrDefault(), "second", 1);
            if (second < first) throw Core.Errors.Errors.InvalidRequest("'second' must not be smaller than 'first'.", "second");
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            var proof = await log.ConsistencyProofAsync(first, second, ct).ConfigureAwait(false)
                ?? throw Core.Errors.Errors.NotFound($"No checkpoints of sizes {first} and {second}, or their entries are past retention.");
            return (StatusCodes.Status200OK, proof);
        });

    [Function("AuditCheckpoints")]
    public Task<IActionResult> Checkpoints([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/checkpoints")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var texts = await audit.Store.ReadCheckpointsAsync(ct).ConfigureAwait(false);
            var data = new System.Text.Json.Nodes.JsonArray([.. texts.Select(t => System.Text.Json.Nodes.JsonNode.Parse(t))]);
            return (StatusCodes.Status200OK, new System.Text.Json.Nodes.JsonObject { ["object"] = "list", ["data"] = data });
        });

    [Function("AuditPublicKey")]
    public Task<IActionResult> PublicKey([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/public-key")] HttpRequest request) =>
        AdminRequests.RunStreamAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            request.HttpContext.Response.ContentType = "application/x-pem-file";
            await request.HttpContext.Response.WriteAsync(log.Verifier.PublicKeyPem, ct).ConfigureAwait(false);
        });

    [Function("AuditExport")]
    public Task<IActionResult> Export([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/export")] HttpRequest request) =>
        AdminRequests.RunStreamAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            var response = request.HttpContext.Response;
            response.ContentType = "application/x-ndjson";
            response.Headers.ContentDisposition = "attachment; filename=\"audit-export.jsonl\"";
            request.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await log.ExportAsync(response.Body, ct).ConfigureAwait(false);
        });

    [Function("AuditReport")]
    public Task<IActionResult> Report([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/audit/report")] HttpRequest request) =>
        AdminRequests.RunJsonAsync(runtime, GatewayFeature.Audit, request, async ct =>
        {
            var (from, to) = AuditRequests.ParsePeriod(n => request.Query[n].FirstOrDefault());
            var log = await audit.LogAsync(ct).ConfigureAwait(false);
            return (StatusCodes.Status200OK, await AuditReport.BuildAsync(log, from, to, ct).ConfigureAwait(false));
        });

    [LoggerMessage(3211, LogLevel.Information, "Audit writer: {Appended} appended, {Duplicates} already in the log, size {Size}, sealed at {Sealed}.")]
    private partial void LogWritten(int appended, int duplicates, long size, long @sealed);

    [LoggerMessage(3212, LogLevel.Error, "Audit writer: a message that is not audit events went to the poison queue: {Reason}.")]
    private partial void LogPoisoned(string reason);

    [LoggerMessage(3213, LogLevel.Information, "Audit: sealed a checkpoint at tree size {Size}.")]
    private partial void LogSealed(long size);

    [LoggerMessage(3214, LogLevel.Information, "Audit retention: deleted {Deleted} entries of sealed segments.")]
    private partial void LogRetained(long deleted);
}
