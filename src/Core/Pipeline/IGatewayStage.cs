namespace Gateway.Core.Pipeline;

/// <summary>Runs the rest of the pipeline.</summary>
public delegate ValueTask<GatewayResult> GatewayHandler(GatewayContext context);

/// <summary>
/// One concern of request handling. A stage may act before calling <c>next</c> (authenticate, admit),
/// after it (settle, record), or not call it at all (answer from cache, refuse).
/// </summary>
public interface IGatewayStage
{
    ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next);
}
