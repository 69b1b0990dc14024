using System.Text.Json;

namespace Gateway.Core.Errors;

/// <summary>An error as the client sees it: an HTTP status plus OpenAI's error body fields.</summary>
public sealed record GatewayError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    /// <summary>Seconds the client should wait before retrying (sent as Retry-After), when known.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>
    /// The provider's own details passed on as <c>innererror</c> — Azure OpenAI's content filter result (which categories
    /// filtered, at which severity), never text; null when none.
    /// </summary>
    public System.Text.Json.Nodes.JsonObject? InnerError { get; init; }

    /// <summary>Writes <c>{"error":{"message","type","param","code"[,"innererror"]}}</c>.</summary>
    public void WriteBody(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WritePropertyName("error");
        writer.WriteStartObject();
        writer.WriteString("message", Message);
        writer.WriteString("type", Type);
        if (Param is null) writer.WriteNull("param"); else writer.WriteString("param", Param);
        if (Code is null) writer.WriteNull("code"); else writer.WriteString("code", Code);
        if (InnerError is not null)
        {
            writer.WritePropertyName("innererror");
            InnerError.WriteTo(writer);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The error body as UTF-8 JSON bytes.</summary>
    public byte[] ToJsonBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) WriteBody(writer);
        return buffer.ToArray();
    }
}
