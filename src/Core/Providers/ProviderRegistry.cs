using System.Runtime.CompilerServices;
using Gateway.Core.Configuration;

namespace Gateway.Core.Providers;

/// <summary>
/// Creates (once per deployment definition) and hands out the provider client for each deployment. A client belongs to
/// the definition it was made from, not its name: a replaced catalog that changes a deployment's endpoint, model or key
/// setting gets a new client, while requests still running on the old catalog keep theirs; a client no catalog holds any
/// more is collected with its definition.
/// </summary>
public sealed class ProviderRegistry(Func<DeploymentOptions, HttpClient> httpClients, ISecretResolver secrets, TimeProvider time, IAccessTokenSource? tokens = null)
{
    private readonly ConditionalWeakTable<DeploymentOptions, IChatProvider> _providers = [];

    public IChatProvider For(DeploymentOptions deployment) => _providers.GetValue(deployment, Create);

    private IChatProvider Create(DeploymentOptions d) => d.Provider.ToLowerInvariant() switch
    {
        ProviderKind.Mock => new MockProvider(d, time),
        ProviderKind.Anthropic => new AnthropicProvider(httpClients(d), d, secrets, time),
        ProviderKind.OpenAi or ProviderKind.OpenAiCompatible or ProviderKind.AzureOpenAi => new OpenAiProvider(httpClients(d), d, secrets, tokens),
        _ => throw new InvalidOperationException($"Deployment '{d.Name}' has an unknown provider '{d.Provider}'."),
    };
}
