namespace Gateway.Core.Errors;

/// <summary>Carries a client-facing <see cref="GatewayError"/> out of the pipeline.</summary>
public sealed class GatewayException : Exception
{
    public GatewayException(GatewayError error, Exception? inner = null) : base(error.Message, inner) => Error = error;

    public GatewayError Error { get; }
}
