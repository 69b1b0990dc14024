using System.Text.Json.Nodes;
using Gateway.Core.Budgets;
using Gateway.Core.Hosting;
using Gateway.Core.Routing;
using Gateway.Core.Safety;
using Gateway.Functions.Budgets;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Functions.Upstream;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions.Tests.Functions;

/// <summary>The feature flags as the Functions app reads them at startup (Microsoft.FeatureManagement), and what a flag off does to its routes and timers.</summary>
public sealed class FeatureFlagSettingsTests
{
    private static IConfiguration Config(IDictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    [Fact]
    public void Without_any_flag_every_capability_is_on()
    {
        Assert.Equal(GatewayFeatures.All, FeatureFlags.Read(Config(new Dictionary<string, string?>())));
        Assert.Equal(GatewayFeatures.All, FeatureFlags.Read(Config(new Dictionary<string, string?> { ["FeatureManagement:Cache"] = "true" })));
    }

    [Fact]
    public void The_dotnet_schema_turns_off_what_is_false_and_leaves_the_rest_on()
    {
        var features = FeatureFlags.Read(Config(new Dictionary<string, string?>
        {
            ["FeatureManagement:Cache"] = "false",
            ["FeatureManagement:Budgets"] = "true",
            ["FeatureManagement:Safety:EnabledFor"] = "false",
        }));
        Assert.Equal([GatewayFeature.Cache, GatewayFeature.Safety], features.Off);
    }

    [Fact]
    public void App_settings_as_environment_variables_reach_the_flags()
    {
        // an app setting FeatureManagement__RateLimits=false arrives as an environment variable, '__' reading as ':'
        const string Name = "GWFLAGTEST_FeatureManagement__RateLimits";
        Environment.SetEnvironmentVariable(Name, "false");
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables("GWFLAGTEST_").Build();
            Assert.Equal([GatewayFeature.RateLimits], FeatureFlags.Read(configuration).Off);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Name, null);
        }
    }

    [Fact]
    public void The_microsoft_schema_of_app_configuration_is_read_too()
    {
        // Azure App Configuration's provider puts feature flags under feature_management:feature_flags
        var features = FeatureFlags.Read(Config(new Dictionary<string, string?>
        {
            ["feature_management:feature_flags:0:id"] = "Audit",
            ["feature_management:feature_flags:0:enabled"] = "false",
            ["feature_management:feature_flags:1:id"] = "Analytics",
            ["feature_management:feature_flags:1:enabled"] = "true",
        }));
        Assert.Equal([GatewayFeature.Audit], features.Off);
    }

    [Theory]
    [InlineData("FeatureManagement:Caching", "Caching")]
    [InlineData("FeatureManagement:RateLimit", "RateLimit")]
    [InlineData("feature_management:feature_flags:0:id", "Budget")]
    public void An_unknown_flag_stops_startup_listing_the_known_names(string setting, string name)
    {
        var settings = new Dictionary<string, string?> { [setting] = setting.EndsWith(":id", StringComparison.Ordinal) ? name : "false" };
        if (setting.EndsWith(":id", StringComparison.Ordinal)) settings["feature_management:feature_flags:0:enabled"] = "false";
        var ex = Assert.Throws<InvalidOperationException>(() => FeatureFlags.Read(Config(settings)));
        Assert.Contains($"'{name}' is not a feature flag of the gateway", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Cache, Coalescing, Budgets, RateLimits, ProviderQuotas, Safety, Audit, Analytics", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flag_with_a_filter_stops_startup_a_capability_is_on_or_off_for_the_whole_app()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => FeatureFlags.Read(Config(new Dictionary<string, string?>
        {
            ["FeatureManagement:Cache:EnabledFor:0:Name"] = "Percentage",
            ["FeatureManagement:Cache:EnabledFor:0:Parameters:Value"] = "50",
        })));
        Assert.Contains("'Cache' uses feature filters (Percentage)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_app_builds_its_runtime_with_the_flags_and_a_cache_that_is_off_needs_no_redis()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // redis is chosen but its connection string is not set: with the cache on that stops startup, off it is never asked for
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Catalog:Deployments:0:Name"] = "mock-east",
            ["Gateway:Catalog:Deployments:0:Provider"] = "mock",
            ["Gateway:Catalog:Deployments:0:Model"] = "mock-1",
            ["Gateway:Catalog:Models:0:Name"] = "mock-1",
            ["Gateway:Catalog:Models:0:Deployments:0"] = "mock-east",
            ["Gateway:Cache:Backend"] = "redis",
        };
        Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGateway(Config(settings)));

        settings["FeatureManagement:Cache"] = "false";
        settings["FeatureManagement:Budgets"] = "false";
        settings["FeatureManagement:Audit"] = "false";
        services.AddGateway(Config(settings));
        using var provider = services.BuildServiceProvider();
        var features = provider.GetRequiredService<GatewayFeatures>();
        Assert.Equal([GatewayFeature.Cache, GatewayFeature.Budgets, GatewayFeature.Audit], features.Off);
        var runtime = provider.GetRequiredService<GatewayRuntime>();
        Assert.Same(features, runtime.Features);
        Assert.DoesNotContain(runtime.Pipeline.Stages, s => s is Core.Caching.CacheStage or BudgetStage);
        Assert.Contains(runtime.Pipeline.Stages, s => s is SafetyStage);
        Assert.Same(Core.Audit.NullAuditSink.Instance, provider.GetRequiredService<Core.Audit.IAuditSink>());
        Assert.Null(provider.GetService<Core.Caching.ICacheStore>());
    }

    private static async Task<(int Status, JsonObject Body)> Call(Func<HttpRequest, Task<IActionResult>> call, string method, string path, string? adminKey = TestGateway.AdminKey, string? body = null)
    {
        var context = TestGateway.Request(method, path, body, headers: adminKey is null ? null : new Dictionary<string, string> { ["x-admin-key"] = adminKey });
        await call(context.Request);
        return (context.Response.StatusCode, JsonNode.Parse(TestGateway.ResponseText(context))!.AsObject());
    }

    private static void AssertDisabled((int Status, JsonObject Body) answer, string flag)
    {
        Assert.Equal(404, answer.Status);
        Assert.Equal("feature_disabled", (string?)answer.Body["error"]!["code"]);
        Assert.Equal("invalid_request_error", (string?)answer.Body["error"]!["type"]);
        Assert.Contains("FeatureManagement:" + flag, (string?)answer.Body["error"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Budget_routes_answer_feature_disabled_and_change_nothing_when_budgets_are_off()
    {
        var gateway = new TestGateway(features: GatewayFeatures.Without(GatewayFeature.Budgets));
        var admin = new BudgetAdministration(gateway.Runtime.Budgets);
        var functions = new BudgetsFunctions(gateway.Runtime, admin);
        AssertDisabled(await Call(r => functions.Put(r, "team:a"), "PUT", "/gateway/budgets/team:a", body: """{"limit_usd":10}"""), "Budgets");
        AssertDisabled(await Call(r => functions.List(r), "GET", "/gateway/budgets"), "Budgets");
        AssertDisabled(await Call(r => functions.Get(r, "team:a"), "GET", "/gateway/budgets/team:a"), "Budgets");
        AssertDisabled(await Call(r => functions.Action(r, "team:a", "stop"), "POST", "/gateway/budgets/team:a/stop"), "Budgets");
        AssertDisabled(await Call(r => functions.Delete(r, "team:a"), "DELETE", "/gateway/budgets/team:a"), "Budgets");
        Assert.Null(await admin.FindAsync(BudgetScope.ForTeam("a"), default));
        // without the admin key it is still a 401: who may not use the admin API learns nothing more
        Assert.Equal(401, (await Call(r => functions.List(r), "GET", "/gateway/budgets", adminKey: null)).Status);

        var on = new TestGateway(features: GatewayFeatures.All);
        var onFunctions = new BudgetsFunctions(on.Runtime, new BudgetAdministration(on.Runtime.Budgets));
        Assert.Equal(200, (await Call(r => onFunctions.Put(r, "team:a"), "PUT", "/gateway/budgets/team:a", body: """{"limit_usd":10}""")).Status);
    }

    [Fact]
    public async Task Stop_and_safety_routes_answer_feature_disabled_when_their_capability_is_off()
    {
        var noQuotas = new TestGateway(features: GatewayFeatures.Without(GatewayFeature.ProviderQuotas));
        var stops = new StopsFunctions(noQuotas.Runtime, new StopAdministration(noQuotas.Runtime.Upstream, TimeProvider.System));
        AssertDisabled(await Call(r => stops.Put(r, "model", "mock-1"), "PUT", "/gateway/stops/model/mock-1", body: "{}"), "ProviderQuotas");
        AssertDisabled(await Call(r => stops.List(r), "GET", "/gateway/stops"), "ProviderQuotas");
        AssertDisabled(await Call(r => stops.Delete(r, "model", "mock-1"), "DELETE", "/gateway/stops/model/mock-1"), "ProviderQuotas");

        var noSafety = new TestGateway(features: GatewayFeatures.Without(GatewayFeature.Safety));
        var safety = new SafetyFunctions(noSafety.Runtime, new SafetyAdministration(noSafety.Runtime.Safety, new Core.Configuration.DocumentSync(noSafety.Runtime.Safety, new MemoryDocumentStore())));
        AssertDisabled(await Call(safety.Get, "GET", "/gateway/safety"), "Safety");
        AssertDisabled(await Call(safety.Put, "PUT", "/gateway/safety", body: """{"policies":{}}"""), "Safety");
        AssertDisabled(await Call(safety.Simulate, "POST", "/gateway/safety/simulate", body: """{"policy":"baseline","text":"hi"}"""), "Safety");
    }
}
