using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>Reads the body (413 over the limit), validates it as an OpenAI request (400), and attributes the end user.</summary>
public sealed class RequestParsingStage(GatewayOptions options) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var bytes = await RequestBody.ReadAsync(context.Body, context.ContentLength, options.MaxRequestBodyBytes, context.Aborted).ConfigureAwait(false);
        context.AdmissionWindow = TimeSpan.FromSeconds(options.AdmissionTimeoutSeconds);
        context.StartAdmission();
        var request = ChatRequestParser.Parse(bytes);
        context.Request = request;
        var headerUser = NonEmpty(context.Headers.Get(options.UserHeader));
        if (headerUser?.Length > ChatRequestParser.MaxIdentifierLength)
            throw Errors.Errors.InvalidRequest($"The {options.UserHeader} header is too long: at most {ChatRequestParser.MaxIdentifierLength} characters.", options.UserHeader, "string_above_max_length");
        context.EndUser = request.User ?? headerUser ?? context.Principal?.User;
        return await next(context).ConfigureAwait(false);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
