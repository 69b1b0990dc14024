using Gateway.Core.Audit;
using Gateway.Core.Auth;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>
/// Authenticates the gateway key (Authorization: Bearer, or api-key as Azure SDKs send it): 401 otherwise. Refusals are
/// counted per source and minute for the audit log (<see cref="RefusedAuthentication"/>).
/// </summary>
public sealed class AuthenticationStage(KeyAuthenticator authenticator, RefusedAuthentication? refusals = null) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var key = PresentedKey(context.Headers);
        if (key is null)
        {
            refusals?.Count(context.ClientAddress, "missing_key");
            throw Errors.Errors.MissingKey();
        }

        context.Principal = await authenticator.AuthenticateAsync(key, context.Aborted).ConfigureAwait(false);
        if (context.Principal is null)
        {
            refusals?.Count(context.ClientAddress, "invalid_key");
            throw Errors.Errors.InvalidKey();
        }

        return await next(context).ConfigureAwait(false);
    }

    /// <summary>The key from <c>Authorization: Bearer …</c> or <c>api-key</c>, or null.</summary>
    public static string? PresentedKey(IRequestHeaders headers)
    {
        var authorization = headers.Get("Authorization");
        if (authorization is not null)
        {
            const string bearer = "Bearer ";
            if (authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
            {
                var token = authorization[bearer.Length..].Trim();
                return token.Length > 0 ? token : null;
            }
            return null;
        }
        var apiKey = headers.Get("api-key")?.Trim();
        return string.IsNullOrEmpty(apiKey) ? null : apiKey;
    }
}
