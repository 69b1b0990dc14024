using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Entities;
using Gateway.Core.Usage;
using Gateway.Functions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Infrastructure;

/// <summary>The real function classes over a real runtime, for tests that call them with a DefaultHttpContext.</summary>
public sealed class TestGateway
{
    public const string AdminKey = "sk-gw-admin-test";

    public TestGateway(IKeyStore? keys = null, Action<GatewayOptions>? configure = null, IDictionary<string, string?>? secrets = null, HttpClient? upstream = null,
        IUsageSink? usage = null, Gateway.Core.Budgets.BudgetGate? budgets = null, Gateway.Core.RateLimits.RateLimitGate? rateLimits = null,
        Gateway.Core.Caching.ICacheStore? cache = null, Gateway.Core.Audit.IAuditSink? audit = null, GatewayFeatures? features = null)
    {
        Options = new GatewayOptions
        {
            AdminKey = AdminKey,
            MaxRequestBodyBytes = 64 * 1024,
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" },
                    new DeploymentOptions { Name = "mock-b", Provider = "mock", Model = "mock-2", MockCompletionTokens = 4 },
                ],
                Models =
                [
                    new ModelOptions { Name = "mock-1", Aliases = ["mock"], Deployments = ["mock"] },
                    new ModelOptions { Name = "mock-2", Deployments = ["mock-b"] },
                ],
            },
        };
        configure?.Invoke(Options);
        Keys = keys ?? new InMemoryKeyStore();
        var http = upstream ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        UsageSink = usage ?? new InMemoryUsageSink();
        Runtime = new GatewayRuntime(Options, new DictionarySecrets(secrets ?? new Dictionary<string, string?>()), Keys, _ => http, TimeProvider.System,
            usage: UsageSink, budgets: budgets, rateLimits: rateLimits, cache: cache, audit: audit, features: features ?? TestFeatures.Current);
        Chat = new ChatCompletionsFunction(Runtime, NullLogger<ChatCompletionsFunction>.Instance, AfterResponse);
        Models = new ModelsFunction(Runtime);
        Admin = new KeysAdminFunction(Runtime);
    }

    public GatewayOptions Options { get; }
    public IKeyStore Keys { get; }
    public GatewayRuntime Runtime { get; }
    public IUsageSink UsageSink { get; }
    /// <summary>The records submitted so far, when the gateway was built with the default in-memory sink.</summary>
    public IReadOnlyList<UsageRecord> UsageRecords => ((InMemoryUsageSink)UsageSink).Records;
    public ChatCompletionsFunction Chat { get; }
    /// <summary>The chat function's after-response work (usage records, settlements): it runs after the function returns.</summary>
    public AfterResponseWork AfterResponse { get; } = new(ex => throw new InvalidOperationException("after-response work failed", ex));

    /// <summary>Runs the chat function and waits for its after-response work, as a test that reads records or spend needs.</summary>
    public async Task ChatAsync(HttpRequest request)
    {
        await Chat.Run(request);
        await AfterResponse.DrainAsync(CancellationToken.None);
    }
    public ModelsFunction Models { get; }
    public KeysAdminFunction Admin { get; }

    public async Task<string> CreateKeyAsync(string name = "test", string? team = "team-a", string? user = "alice", params string[] allowedModels)
    {
        var (_, key) = await Runtime.Keys.CreateAsync(new CreateKeyRequest(name, user, team, allowedModels, new Dictionary<string, string>()), CancellationToken.None);
        return key;
    }

    /// <summary>A request as the Functions host would hand it over, with a response body we can read.</summary>
    public static DefaultHttpContext Request(string method, string path, string? body = null, string? key = null, IDictionary<string, string>? headers = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }
        if (key is not null) context.Request.Headers.Authorization = "Bearer " + key;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) context.Request.Headers[name] = value;
        context.Response.Body = new MemoryStream();
        return context;
    }

    public static string ResponseText(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return new StreamReader(context.Response.Body).ReadToEnd();
    }

    private sealed class DictionarySecrets(IDictionary<string, string?> values) : ISecretResolver
    {
        public string? Resolve(string settingName) => values.TryGetValue(settingName, out var v) ? v : null;
    }
}
