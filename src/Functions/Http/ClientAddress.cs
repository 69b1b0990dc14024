using Microsoft.AspNetCore.Http;

namespace Gateway.Functions.Http;

/// <summary>The client's address: the first <c>X-Forwarded-For</c> hop (the Functions host and Azure's front ends add it), else the connection's.</summary>
public static class ClientAddress
{
    public static string? Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var forwarded = request.Headers["X-Forwarded-For"].ToString();
        if (forwarded.Length > 0)
        {
            var first = forwarded.Split(',')[0].Trim();
            // an address, not whatever a client wrote there: bounded and without spaces or control characters
            if (first.Length is > 0 and <= 64 && first.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '[' or ']')) return first;
        }

        return request.HttpContext.Connection.RemoteIpAddress?.ToString();
    }
}
