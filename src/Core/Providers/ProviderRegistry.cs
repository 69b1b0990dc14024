using System.Collections.Concurrent;
using Gateway.Core.Configuration;

namespace Gateway.Core.Providers;

/// <summary>Creates (once) and hands out the provider client for each deployment.</summary>
public sealed class ProviderRegistry(Func<DeploymentOptions, HttpClient> httpClients, ISecretResolver secrets, TimeProvider time, IAccessTokenSource? tokens = null)
{
    private readonly ConcurrentDictionary<string, IChatProvider> _providers = new(StringComparer.OrdinalIgnoreCase);

    public IChatProvider For(DeploymentOptions deployment) => _providers.GetOrAdd(deployment.Name, _ => Create(deployment));

    private IChatProvider Create(DeploymentOptions d) => d.Provider.ToLowerInvariant() switch
    {
        ProviderKind.Mock => new MockProvider(d, time),
        ProviderKind.Anthropic => new AnthropicProvider(httpClients(d), d, secrets, time),
        ProviderKind.OpenAi or ProviderKind.OpenAiCompatible or ProviderKind.AzureOpenAi => new OpenAiProvider(httpClients(d), d, secrets, tokens),
        _ => throw new InvalidOperationException($"Deployment '{d.Name}' has an unknown provider '{d.Provider}'."),
    };
}
