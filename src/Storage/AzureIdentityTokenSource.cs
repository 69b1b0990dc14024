using Azure.Core;
using Azure.Identity;
using Gateway.Core.Providers;

namespace Gateway.Storage;

/// <summary>Entra ID tokens from Azure.Identity (managed identity in Azure, developer credentials locally); the SDK caches them.</summary>
public sealed class AzureIdentityTokenSource(TokenCredential? credential = null) : IAccessTokenSource
{
    private readonly TokenCredential _credential = credential ?? new DefaultAzureCredential();

    public async ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken)
    {
        var token = await _credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false);
        return token.Token;
    }
}
