using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Functions.Tests.Functions;

/// <summary>How the Functions app reads and validates its settings at startup.</summary>
public sealed class StartupConfigurationTests
{
    private static string RepoFile(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        return Path.Combine([dir!.FullName, .. parts]);
    }

    private static IConfiguration Config(IDictionary<string, string?> settings, bool withShippedCatalog = true)
    {
        var builder = new ConfigurationBuilder();
        if (withShippedCatalog) builder.AddJsonFile(RepoFile("src", "Functions", "catalog.json"));
        return builder.AddInMemoryCollection(settings).Build();
    }

    [Fact]
    public void The_shipped_catalog_is_valid_and_offline()
    {
        var services = new ServiceCollection();
        services.AddGateway(Config(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }));
        var options = services.BuildServiceProvider().GetRequiredService<GatewayOptions>();
        Assert.Contains(options.Catalog.Models, m => m.Name == "mock-1");
        Assert.All(options.Catalog.Deployments, d => Assert.Equal("mock", d.Provider));
    }

    [Fact]
    public void The_sample_local_settings_give_a_dev_key_and_an_admin_key()
    {
        var sample = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(RepoFile("local.settings.sample.json")))!;
        Assert.Equal("sk-gw-dev-local", (string?)sample["Values"]!["Gateway__DevKey"]);
        Assert.Equal("dotnet-isolated", (string?)sample["Values"]!["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.False(string.IsNullOrEmpty((string?)sample["Values"]!["Gateway__AdminKey"]));
        // the dev key is allowed only in Development, which the sample says explicitly
        Assert.Equal("Development", (string?)sample["Values"]!["AZURE_FUNCTIONS_ENVIRONMENT"]);
    }

    [Fact]
    public void Every_timer_schedule_setting_is_in_the_sample_settings_and_the_bicep_template()
    {
        var sample = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(RepoFile("local.settings.sample.json")))!["Values"]!.AsObject();
        var bicep = File.ReadAllText(RepoFile("infra", "bicep", "modules", "functionapp.bicep"));
        var schedules = new[] { UsageFunctions.RollupScheduleSetting, UsageFunctions.RetentionScheduleSetting, AuditFunctions.SealScheduleSetting, AuditFunctions.RetentionScheduleSetting, AnalyticsFunctions.ScheduleSetting };
        foreach (var setting in schedules)
        {
            Assert.False(string.IsNullOrEmpty((string?)sample[setting]), setting);
            Assert.Contains($"name: '{setting}'", bicep, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bad_analytics_settings_stop_startup_naming_each()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGateway(Config(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Analytics:BaselineDays"] = "1",
            ["Gateway:Analytics:TopN"] = "0",
        })));
        Assert.Contains("Gateway:Analytics:BaselineDays", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:Analytics:TopN", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_development_key_stops_startup_on_azure_with_a_clear_message_and_without_the_key()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:DevKey"] = "sk-gw-dev-local",
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["WEBSITE_INSTANCE_ID"] = "6a7b8c",
        };
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGateway(Config(settings)));
        Assert.Contains("Gateway__DevKey", ex.Message, StringComparison.Ordinal);
        Assert.Contains("WEBSITE_INSTANCE_ID", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-gw-dev-local", ex.Message, StringComparison.Ordinal);

        settings.Remove("WEBSITE_INSTANCE_ID");
        new ServiceCollection().AddGateway(Config(settings));
    }

    [Fact]
    public void Safety_policies_by_team_and_key_bind_from_app_settings_and_a_loosened_locked_rule_stops_startup()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Safety:Policy"] = """{"name":"corp","extends":"baseline","rules":{"secret.aws":{"action":"block","locked":true}}}""",
            ["Gateway:Safety:Teams:payments"] = "pii-redact",
            ["Gateway:Safety:Keys:key_abc"] = "strict",
        };
        var options = GatewayConfiguration.Load(Config(settings));
        Assert.Equal("pii-redact", options.Safety.Teams["payments"]);
        Assert.Equal("strict", options.Safety.Keys["key_abc"]);
        new ServiceCollection().AddGateway(Config(settings));

        settings["Gateway:Safety:Teams:lab"] = "log-only";
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGateway(Config(settings)));
        Assert.Contains("Gateway:Safety:Teams:lab: 'secret.aws' is locked at block by 'corp'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Savings_thresholds_bind_from_app_settings_replacing_the_default_lists_and_a_bad_one_stops_startup()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Savings:MinRequests"] = "50",
            ["Gateway:Savings:NonInteractiveTags"] = "workload=nightly",
            ["Gateway:Savings:CheaperModels:gpt-4.1"] = "gpt-4.1-nano",
        };
        var options = GatewayConfiguration.Load(Config(settings));
        Assert.Equal(50, options.Savings.MinRequests);
        Assert.Equal("workload=nightly", options.Savings.NonInteractiveTags);
        Assert.Equal("gpt-4.1-nano", options.Savings.CheaperModels["gpt-4.1"]);
        new ServiceCollection().AddGateway(Config(settings));

        settings["Gateway:Savings:OffHoursEndUtc"] = "25";
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGateway(Config(settings)));
        Assert.Contains("Gateway:Savings:OffHoursEndUtc must be an hour from 0 to 23 (was 25)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void App_settings_override_the_catalog_file()
    {
        var services = new ServiceCollection();
        services.AddGateway(Config(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Gateway:Catalog:Deployments:0:MockCompletionTokens"] = "3",
            ["Gateway:MaxRequestBodyBytes"] = "1000",
        }));
        var options = services.BuildServiceProvider().GetRequiredService<GatewayOptions>();
        Assert.Equal(3, options.Catalog.Deployments[0].MockCompletionTokens);
        Assert.Equal(1000, options.MaxRequestBodyBytes);
    }

    [Fact]
    public void A_bad_catalog_stops_startup_naming_every_problem_and_no_secret()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ANTHROPIC_KEY"] = "sk-ant-very-secret-value",
            ["KV_KEY"] = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/openai/)",
            ["Gateway:Catalog:Deployments:0:Name"] = "azure-east",
            ["Gateway:Catalog:Deployments:0:Provider"] = "azure-openai",
            ["Gateway:Catalog:Deployments:0:Model"] = "gpt4o",
            ["Gateway:Catalog:Deployments:0:ApiKeySetting"] = "AZURE_KEY",
            ["Gateway:Catalog:Deployments:1:Name"] = "claude",
            ["Gateway:Catalog:Deployments:1:Provider"] = "anthropic",
            ["Gateway:Catalog:Deployments:1:Model"] = "claude-x",
            ["Gateway:Catalog:Deployments:1:ApiKeySetting"] = "ANTHROPIC_KEY",
            ["Gateway:Catalog:Deployments:1:Weight"] = "0",
            ["Gateway:Catalog:Deployments:2:Name"] = "openai",
            ["Gateway:Catalog:Deployments:2:Provider"] = "openai",
            ["Gateway:Catalog:Deployments:2:Model"] = "gpt-4o",
            ["Gateway:Catalog:Deployments:2:ApiKeySetting"] = "KV_KEY",
            ["Gateway:Catalog:Models:0:Name"] = "gpt-4o",
            ["Gateway:Catalog:Models:0:Deployments:0"] = "azure-east",
            ["Gateway:Catalog:Models:0:Deployments:1"] = "nowhere",
            ["Gateway:Catalog:Models:0:Fallbacks:0"] = "missing-model",
        };
        var ex = Assert.Throws<CatalogException>(() => new ServiceCollection().AddGateway(Config(settings, withShippedCatalog: false)));
        Assert.Contains(ex.Errors, e => e.Contains("Deployments:0 ('azure-east'):Endpoint is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("Deployments:0 ('azure-east'):ApiVersion is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("'AZURE_KEY', which is not set", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("Deployments:1 ('claude'):Weight", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("Key Vault reference the platform did not resolve", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("names 'nowhere'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("names 'missing-model'", StringComparison.Ordinal));
        Assert.DoesNotContain("sk-ant-very-secret-value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_based_storage_needs_no_connection_string()
    {
        var services = new ServiceCollection();
        services.AddGateway(Config(new Dictionary<string, string?> { ["AzureWebJobsStorage:accountName"] = "mystorage" }));
        var connection = services.BuildServiceProvider().GetRequiredService<Gateway.Storage.StorageConnection>();
        Assert.Equal("https://mystorage.table.core.windows.net/", connection.Table("gatewaykeys").Uri.GetLeftPart(UriPartial.Authority) + "/");
    }

    [Fact]
    public void The_runtime_resolves_from_the_container()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddGateway(Config(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }));
        var runtime = services.BuildServiceProvider().GetRequiredService<GatewayRuntime>();
        Assert.True(runtime.Catalog.TryResolve("mock", out _));
    }

    [Fact]
    public async Task The_containers_pricing_catalog_must_price_the_model_catalog_in_force_not_the_one_configured()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddGateway(Config(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["OPENAI_KEY"] = "sk-openai-test",
            ["Gateway:Catalog:Deployments:2:Name"] = "openai-main",
            ["Gateway:Catalog:Deployments:2:Provider"] = "openai",
            ["Gateway:Catalog:Deployments:2:Model"] = "gpt-4o",
            ["Gateway:Catalog:Deployments:2:ApiKeySetting"] = "OPENAI_KEY",
        }));
        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<GatewayRuntime>();
        var catalog = provider.GetRequiredService<Gateway.Core.Configuration.CatalogAdministration>();
        Assert.Same(runtime.Catalogs, catalog.Holder);
        Assert.Same(runtime.Prices, provider.GetRequiredService<Gateway.Core.Pricing.PriceCatalogHolder>());
        const string mockOnly = """
            { "version": "mock-only", "currency": "USD", "unit": "per_million_tokens",
              "providers": { "mock": { "models": { "mock": { "prices": [ { "effectiveFrom": "2024-01-01", "input": 1, "output": 2 } ] } } } } }
            """;
        // the configured catalog has gpt-4o: prices without it are refused
        Assert.Throws<Gateway.Core.Pricing.PriceCatalogException>(() => runtime.Prices.Replace(mockOnly));
        // once the catalog in force no longer has it, they are not
        runtime.Catalogs.Install(new Gateway.Core.Configuration.StoredDocument("""
            { "Deployments": [ { "Name": "mock", "Provider": "mock" } ], "Models": [ { "Name": "mock-1", "Deployments": ["mock"] } ] }
            """, "\"v1\""));
        Assert.Equal("mock-only", runtime.Prices.Replace(mockOnly).Version);
        await provider.DisposeAsync();
    }
}
