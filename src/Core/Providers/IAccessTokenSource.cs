namespace Gateway.Core.Providers;

/// <summary>Supplies bearer tokens for Entra ID authentication (Azure OpenAI with managed identity).</summary>
public interface IAccessTokenSource
{
    ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken);
}
