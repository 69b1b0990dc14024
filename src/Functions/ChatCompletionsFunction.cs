using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary><c>POST /v1/chat/completions</c>: binds the HTTP request to the Core pipeline and writes its answer.</summary>
public sealed partial class ChatCompletionsFunction(GatewayRuntime runtime, ILogger<ChatCompletionsFunction> logger, AfterResponseWork afterResponse,
    Entities.DurableEntityChannel? entities = null)
{
    [Function("ChatCompletions")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request,
        [DurableClient] Microsoft.DurableTask.Client.DurableTaskClient? durable = null)
    {
        // budgets and rate-limit counters live in Durable Entities, reached through the client the host binds here
        entities?.Attach(durable);
        // a shutdown waits for this request, then for its after-response work, before it reports budgets and flushes usage
        using var inFlight = afterResponse.BeginRequest();
        var http = request.HttpContext;
        // the gateway bounds bodies itself (413 as an OpenAI error, after draining the rest): the worker's own server
        // must not cut the connection first (at 30 MB), or the host cannot deliver that answer
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        var aborted = http.RequestAborted;
        var context = new GatewayContext(
            GatewayHeaders.RequestIdFrom(request.Headers[GatewayHeaders.RequestId]),
            new AspNetRequestHeaders(request.Headers), request.Body, request.ContentLength, runtime.Time, aborted) { ClientAddress = ClientAddress.Of(request) };
        var response = http.Response;
        try
        {
            var outcome = await runtime.ChatCompletions.HandleAsync(context).ConfigureAwait(false);
            HttpResponses.ApplyHeaders(response, context.ResponseHeaders);
            switch (outcome)
            {
                case { Error: { } error }:
                    if (error.Status >= 500)
                        Log.UpstreamFailed(logger, context.RequestId, error.Status, error.Code ?? "", outcome.Cause is { } cause ? ErrorDescription.Of(cause) : "");
                    await HttpResponses.WriteErrorAsync(response, error, aborted).ConfigureAwait(false);
                    break;
                case { Result: GatewayResult.Completion completion }:
                    await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, completion.Body, aborted).ConfigureAwait(false);
                    break;
                case { Result: GatewayResult.Streaming streaming }:
                    await using (streaming.Stream.ConfigureAwait(false))
                    {
                        response.StatusCode = StatusCodes.Status200OK;
                        response.ContentType = "text/event-stream; charset=utf-8";
                        response.Headers.CacheControl = "no-cache";
                        response.Headers["X-Accel-Buffering"] = "no";
                        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                        await response.StartAsync(aborted).ConfigureAwait(false);
                        // into Kestrel's pipe itself: a chunk waits for a slow client in the server's output blocks alone
                        var ended = await ChatStreamWriter.WriteAsync(streaming.Stream, response.BodyWriter, context.RequireRequest().IncludeUsage, aborted,
                            TimeSpan.FromSeconds(runtime.Options.StreamWriteTimeoutSeconds)).ConfigureAwait(false);
                        // a client that stopped reading: the stream's disposal below cancels the upstream call, the record says why
                        if (ended.Error?.Code == ChatStreamWriter.ClientTooSlowCode) context.ClientTooSlow = true;
                        if (ended.Error is { } streamError)
                        {
                            if (ended.Failure is { } failure) Log.Unhandled(logger, failure, context.RequestId);
                            Log.StreamBroken(logger, context.RequestId, ended.Chunks, streamError.Code ?? "");
                            // after the error event, an aborted connection: a clean end would read as a complete answer
                            http.Abort();
                        }
                    }
                    break;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Log.ClientGone(logger, context.RequestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Unhandled(logger, ex, context.RequestId);
            // once the response has started, an error body cannot follow it: the connection is aborted instead
            if (response.HasStarted) http.Abort();
            else await HttpResponses.WriteErrorAsync(response, HttpResponses.ErrorFor(ex), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            // After the response, off the client's clock (the host holds the response until this function returns): the
            // usage record, settlements and refunds, for every outcome.
            afterResponse.Run(async () =>
            {
                try
                {
                    await context.CompleteAsync().ConfigureAwait(false);
                }
                catch (AggregateException ex)
                {
                    Log.AfterResponseFailed(logger, ex, context.RequestId);
                }
            });
        }
        return new EmptyResult();
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Warning, "Request {RequestId} failed with {Status} ({Code}). Cause: {Cause}")]
        public static partial void UpstreamFailed(ILogger logger, string requestId, int status, string code, string cause);

        [LoggerMessage(2002, LogLevel.Warning, "Request {RequestId}: the upstream stream broke after {Chunks} chunks ({Code}).")]
        public static partial void StreamBroken(ILogger logger, string requestId, int chunks, string code);

        [LoggerMessage(2003, LogLevel.Information, "Request {RequestId}: the client disconnected; the upstream call was cancelled.")]
        public static partial void ClientGone(ILogger logger, string requestId);

        [LoggerMessage(2004, LogLevel.Error, "Request {RequestId} failed with an unexpected error.")]
        public static partial void Unhandled(ILogger logger, Exception exception, string requestId);

        [LoggerMessage(2005, LogLevel.Error, "Request {RequestId}: after-response work (usage record) failed.")]
        public static partial void AfterResponseFailed(ILogger logger, Exception exception, string requestId);
    }
}
