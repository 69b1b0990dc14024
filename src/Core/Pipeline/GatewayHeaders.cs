namespace Gateway.Core.Pipeline;

/// <summary>The names of the headers the gateway reads and writes.</summary>
public static class GatewayHeaders
{
    public const string RequestId = "x-request-id";
    public const string Provider = "x-gateway-provider";
    public const string Deployment = "x-gateway-deployment";
    public const string Model = "x-gateway-model";
    public const string Latency = "x-gateway-latency-ms";
    public const string UpstreamLatency = "x-gateway-upstream-latency-ms";
    public const string RetryAfter = "Retry-After";

    /// <summary>The client's request id when it is sane (1–128 visible ASCII characters), else a new one.</summary>
    public static string RequestIdFrom(string? clientValue)
    {
        if (clientValue is { Length: > 0 and <= 128 } && clientValue.All(c => c is > ' ' and < (char)127)) return clientValue;
        return "req_" + Guid.NewGuid().ToString("N");
    }
}
