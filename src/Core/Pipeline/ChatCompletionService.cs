using System.Globalization;
using Gateway.Core.Errors;

namespace Gateway.Core.Pipeline;

/// <summary>
/// Runs the pipeline for one chat completion request and settles the response headers every answer
/// carries, success or error: request id, latency, and the gateway's routing headers.
/// </summary>
public sealed class ChatCompletionService(GatewayPipeline pipeline)
{
    public async Task<ChatCompletionOutcome> HandleAsync(GatewayContext context)
    {
        context.ResponseHeaders[GatewayHeaders.RequestId] = context.RequestId;
        try
        {
            var result = await pipeline.RunAsync(context).ConfigureAwait(false);
            SetLatency(context);
            return new ChatCompletionOutcome(result, null);
        }
        catch (GatewayException ex)
        {
            SetLatency(context);
            if (ex.Error.RetryAfterSeconds is { } seconds) context.ResponseHeaders[GatewayHeaders.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
            return new ChatCompletionOutcome(null, ex.Error) { Cause = ex.InnerException };
        }
        catch (OperationCanceledException) when (context.Aborted.IsCancellationRequested)
        {
            // The client went away; nobody is listening for an answer.
            SetLatency(context);
            return new ChatCompletionOutcome(null, new GatewayError(499, "The client closed the request.", "invalid_request_error", null, "client_closed_request"));
        }
    }

    private static void SetLatency(GatewayContext context) =>
        context.ResponseHeaders[GatewayHeaders.Latency] = ((long)context.Elapsed.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}

/// <summary>Either a result to write, or the error to answer with.</summary>
public sealed record ChatCompletionOutcome(GatewayResult? Result, GatewayError? Error)
{
    /// <summary>What lay behind <see cref="Error"/> (a connect failure, a storage error), to log: never sent to the client.</summary>
    public Exception? Cause { get; init; }
}
