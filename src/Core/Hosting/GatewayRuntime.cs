using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Providers;
using Gateway.Core.Routing;

namespace Gateway.Core.Hosting;

/// <summary>
/// The gateway assembled from its settings: the validated catalog, authentication, providers and the
/// request pipeline, with its stages in order. The Functions app, the tests and the benchmarks all build
/// the gateway through this one place.
/// </summary>
public sealed class GatewayRuntime
{
    public GatewayRuntime(GatewayOptions options, ISecretResolver secrets, IKeyStore keys, Func<DeploymentOptions, HttpClient> httpClients,
        TimeProvider time, IAccessTokenSource? tokens = null, DeploymentSelector? selector = null)
    {
        Options = options;
        Time = time;
        Catalog = ModelCatalog.Create(options.Catalog, secrets);
        KeyAuthenticator = new KeyAuthenticator(keys, options, time);
        Keys = new KeyAdministration(keys, KeyAuthenticator, Catalog, time);
        Admin = new AdminAuthenticator(options);
        Providers = new ProviderRegistry(httpClients, secrets, time, tokens);
        Pipeline = new GatewayPipeline(
        [
            new AuthenticationStage(KeyAuthenticator),
            new RequestParsingStage(options),
            new ModelResolutionStage(Catalog),
            new ProviderStage(selector ?? new DeploymentSelector(), Providers),
        ]);
        ChatCompletions = new ChatCompletionService(Pipeline);
    }

    public GatewayOptions Options { get; }
    public TimeProvider Time { get; }
    public ModelCatalog Catalog { get; }
    public KeyAuthenticator KeyAuthenticator { get; }
    public KeyAdministration Keys { get; }
    public AdminAuthenticator Admin { get; }
    public ProviderRegistry Providers { get; }
    public GatewayPipeline Pipeline { get; }
    public ChatCompletionService ChatCompletions { get; }
}
