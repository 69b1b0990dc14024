using Gateway.Core.Configuration;
using Gateway.Core.Errors;

namespace Gateway.Core.Tests.Configuration;

public sealed class CatalogValidatorTests
{
    private sealed class Secrets(Dictionary<string, string?> values) : ISecretResolver
    {
        public List<string> Asked { get; } = [];

        public string? Resolve(string settingName)
        {
            Asked.Add(settingName);
            return values.TryGetValue(settingName, out var v) ? v : null;
        }
    }

    private static Secrets Settings(params (string Name, string? Value)[] values) => new(values.ToDictionary(v => v.Name, v => v.Value));

    private static readonly Secrets Default = Settings(("OPENAI_API_KEY", "sk-openai-secret-value"), ("ANTHROPIC_API_KEY", "sk-ant-secret-value"));

    private static DeploymentOptions Mock(string name = "mock-d") => new() { Name = name, Provider = ProviderKind.Mock };

    private static DeploymentOptions OpenAi(string name = "openai-main") => new() { Name = name, Provider = ProviderKind.OpenAi, Model = "gpt-4o", ApiKeySetting = "OPENAI_API_KEY" };

    private static ModelOptions Model(string name, params string[] deployments) => new() { Name = name, Deployments = [.. deployments] };

    private static CatalogOptions Catalog(IEnumerable<DeploymentOptions> deployments, params ModelOptions[] models) =>
        new() { Deployments = [.. deployments], Models = [.. models] };

    /// <summary>A catalog with one deployment, the one under test, served by model "m".</summary>
    private static IReadOnlyList<string> ValidateOne(DeploymentOptions d, ISecretResolver? secrets = null) =>
        CatalogValidator.Validate(Catalog([d], Model("m", d.Name)), secrets ?? Default);

    [Fact]
    public void The_shape_of_the_readme_catalog_is_valid()
    {
        var catalog = Catalog(
            [
                OpenAi(),
                new DeploymentOptions { Name = "azure-east", Provider = "azure-openai", Model = "gpt4o-prod", Endpoint = "https://my-aoai.openai.azure.com", ApiVersion = "2024-10-21", Auth = "entra", Weight = 3 },
                new DeploymentOptions { Name = "claude", Provider = "anthropic", Model = "claude-sonnet-4-5", ApiKeySetting = "ANTHROPIC_API_KEY", DefaultMaxTokens = 4096 },
                new DeploymentOptions { Name = "local-llama", Provider = "openai-compatible", Model = "llama3.1", Endpoint = "http://localhost:11434/v1" },
                Mock(),
            ],
            new ModelOptions { Name = "gpt-4o", Aliases = ["gpt4o"], Deployments = ["azure-east", "openai-main"], Fallbacks = ["claude-sonnet"] },
            Model("claude-sonnet", "claude"),
            Model("llama", "local-llama"),
            Model("mock-1", "mock-d"));
        Assert.Empty(CatalogValidator.Validate(catalog, Default));
    }

    [Fact]
    public void A_deployment_without_a_name_is_reported_by_index()
    {
        var errors = ValidateOne(new DeploymentOptions { Name = " ", Provider = "mock" });
        Assert.Contains("Gateway:Catalog:Deployments:0:Name is required.", errors);
    }

    [Fact]
    public void Duplicate_deployment_names_are_reported_case_insensitively()
    {
        var errors = CatalogValidator.Validate(Catalog([Mock("a"), Mock("b"), Mock("A")], Model("m", "a")), Default);
        Assert.Equal(["Gateway:Catalog:Deployments:2 ('A'):Name 'A' is used by another deployment."], errors);
    }

    [Theory]
    [InlineData("gemini")]
    [InlineData("")]
    public void An_unknown_provider_lists_the_known_ones_and_skips_the_other_checks(string provider)
    {
        var errors = ValidateOne(new DeploymentOptions { Name = "x", Provider = provider, Weight = 0, Auth = "magic" });
        Assert.Equal([$"Gateway:Catalog:Deployments:0 ('x'):Provider '{provider}' is not known; use one of openai, openai-compatible, azure-openai, anthropic, mock."], errors);
    }

    [Fact]
    public void Provider_names_are_case_insensitive()
    {
        Assert.Empty(ValidateOne(new DeploymentOptions { Name = "x", Provider = "MOCK" }));
        Assert.Empty(ValidateOne(new DeploymentOptions { Name = "x", Provider = "OpenAI", Model = "gpt-4o", ApiKeySetting = "OPENAI_API_KEY" }));
    }

    [Fact]
    public void Model_is_required_except_for_the_mock()
    {
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('o'):Model is required (the upstream model id, or the Azure OpenAI deployment name)."],
            ValidateOne(new DeploymentOptions { Name = "o", Provider = "openai", ApiKeySetting = "OPENAI_API_KEY" }));
        Assert.Empty(ValidateOne(new DeploymentOptions { Name = "mk", Provider = "mock", Model = "" }));
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://example.com/v1")]
    [InlineData("/relative/v1")]
    [InlineData("")]
    public void An_endpoint_must_be_an_absolute_http_url(string endpoint)
    {
        var d = OpenAi();
        d.Endpoint = endpoint;
        Assert.Equal([$"Gateway:Catalog:Deployments:0 ('openai-main'):Endpoint '{endpoint}' is not an absolute http(s) URL."], ValidateOne(d));
    }

    [Fact]
    public void An_endpoint_carrying_credentials_is_refused_without_repeating_them()
    {
        var d = OpenAi();
        d.Endpoint = "https://user:sk-in-the-url@api.example.com/v1";
        var error = Assert.Single(ValidateOne(d));
        Assert.Equal("Gateway:Catalog:Deployments:0 ('openai-main'):Endpoint carries a user name or password: name the setting that holds the key in ApiKeySetting instead.", error);
    }

    [Fact]
    public void An_uploaded_catalog_is_checked_by_the_same_rules_with_paths_from_its_own_root()
    {
        var d = OpenAi();
        d.Weight = 0;
        Assert.Equal(["Deployments:0 ('openai-main'):Weight must be at least 1 (was 0).", "Models is empty: configure at least one model (the shipped catalog.json has the offline 'mock-1')."],
            CatalogValidator.Validate(Catalog([d]), Default, root: ""));
    }

    [Theory]
    [InlineData("azure-openai")]
    [InlineData("openai-compatible")]
    public void Azure_and_compatible_deployments_need_an_endpoint(string provider)
    {
        var d = new DeploymentOptions { Name = "d", Provider = provider, Model = "x", ApiVersion = "2024-10-21", Auth = provider == "azure-openai" ? "entra" : "key" };
        Assert.Equal([$"Gateway:Catalog:Deployments:0 ('d'):Endpoint is required for provider '{provider}'."], ValidateOne(d));
    }

    [Fact]
    public void Azure_needs_an_api_version()
    {
        var d = new DeploymentOptions { Name = "azure-east", Provider = "azure-openai", Model = "gpt4o-prod", Endpoint = "https://x.openai.azure.com", Auth = "entra" };
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('azure-east'):ApiVersion is required for provider 'azure-openai' (for example 2024-10-21)."], ValidateOne(d));
    }

    [Fact]
    public void Auth_must_be_key_or_entra_and_entra_only_for_azure()
    {
        var d = OpenAi();
        d.Auth = "oauth";
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('openai-main'):Auth 'oauth' must be 'key' or 'entra'."], ValidateOne(d));
        d.Auth = "entra";
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('openai-main'):Auth 'entra' is only supported for provider 'azure-openai'."], ValidateOne(d));
        d.Auth = "KEY";
        Assert.Empty(ValidateOne(d));
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    [InlineData("azure-openai")]
    public void Providers_that_need_a_key_require_the_setting_name(string provider)
    {
        var d = new DeploymentOptions { Name = "d", Provider = provider, Model = "x", Endpoint = "https://x.example.com", ApiVersion = "v" };
        Assert.Equal([$"Gateway:Catalog:Deployments:0 ('d'):ApiKeySetting is required: name the app setting that holds the {provider} key."], ValidateOne(d));
    }

    [Fact]
    public void A_key_setting_that_is_not_set_is_named_without_a_value()
    {
        var d = OpenAi();
        var secrets = Settings(("OPENAI_API_KEY", ""));
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('openai-main'):ApiKeySetting names the setting 'OPENAI_API_KEY', which is not set."], ValidateOne(d, secrets));
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('openai-main'):ApiKeySetting names the setting 'OPENAI_API_KEY', which is not set."], ValidateOne(d, Settings()));
    }

    [Fact]
    public void An_unresolved_key_vault_reference_is_reported_as_such_without_echoing_it()
    {
        const string reference = "@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/openai/)";
        var errors = ValidateOne(OpenAi(), Settings(("OPENAI_API_KEY", reference)));
        var error = Assert.Single(errors);
        Assert.Equal("Gateway:Catalog:Deployments:0 ('openai-main'):ApiKeySetting names the setting 'OPENAI_API_KEY', which holds a Key Vault reference the platform did not resolve (check the app's identity has 'Key Vault Secrets User' on the vault).", error);
        Assert.DoesNotContain("vault.azure.net", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_values_never_appear_in_any_message()
    {
        var catalog = Catalog([OpenAi(), OpenAi("OPENAI-MAIN")], Model("m", "openai-main", "nope"), Model("m", "openai-main"));
        var errors = CatalogValidator.Validate(catalog, Default);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.DoesNotContain("sk-openai-secret-value", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Key_less_providers_need_no_key_but_a_named_setting_must_exist()
    {
        var compatible = new DeploymentOptions { Name = "llama", Provider = "openai-compatible", Model = "llama3.1", Endpoint = "http://localhost:11434/v1" };
        Assert.Empty(ValidateOne(compatible));
        compatible.ApiKeySetting = "GROQ_KEY";
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('llama'):ApiKeySetting names the setting 'GROQ_KEY', which is not set."], ValidateOne(compatible));
        Assert.Empty(ValidateOne(compatible, Settings(("GROQ_KEY", "gsk-1"))));

        var entra = new DeploymentOptions { Name = "az", Provider = "azure-openai", Model = "d", Endpoint = "https://x.openai.azure.com", ApiVersion = "2024-10-21", Auth = "entra" };
        Assert.Empty(ValidateOne(entra));
    }

    [Fact]
    public void Azure_with_key_auth_needs_the_key_setting()
    {
        var d = new DeploymentOptions { Name = "az", Provider = "azure-openai", Model = "d", Endpoint = "https://x.openai.azure.com", ApiVersion = "2024-10-21", Auth = "key", ApiKeySetting = "AZURE_KEY" };
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('az'):ApiKeySetting names the setting 'AZURE_KEY', which is not set."], ValidateOne(d));
        Assert.Empty(ValidateOne(d, Settings(("AZURE_KEY", "abc"))));
    }

    [Theory]
    [InlineData(0, "Gateway:Catalog:Deployments:0 ('mock-d'):Weight must be at least 1 (was 0).")]
    [InlineData(-5, "Gateway:Catalog:Deployments:0 ('mock-d'):Weight must be at least 1 (was -5).")]
    public void Weights_must_be_positive(int weight, string message)
    {
        var d = Mock();
        d.Weight = weight;
        Assert.Equal([message], ValidateOne(d));
    }

    [Fact]
    public void Priorities_must_not_be_negative_and_zero_is_fine()
    {
        var d = Mock();
        d.Priority = -1;
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('mock-d'):Priority must not be negative (was -1)."], ValidateOne(d));
        d.Priority = 0;
        Assert.Empty(ValidateOne(d));
        d.Priority = 7;
        Assert.Empty(ValidateOne(d));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(3600.5, false)]
    [InlineData(0.1, true)]
    [InlineData(3600, true)]
    public void Timeouts_must_be_within_an_hour(double seconds, bool valid)
    {
        var d = Mock();
        d.TimeoutSeconds = seconds;
        var errors = ValidateOne(d);
        if (valid) Assert.Empty(errors);
        else Assert.Equal([$"Gateway:Catalog:Deployments:0 ('mock-d'):TimeoutSeconds must be between 0 and 3600 (was {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)})."], errors);
    }

    [Theory]
    [InlineData(0.5, null, true)]
    [InlineData(600.0, null, true)]
    [InlineData(601.0, null, false)]
    [InlineData(0.0, null, false)]
    [InlineData(double.NaN, null, false)]
    [InlineData(null, 5.0, true)]
    [InlineData(null, 0.0, false)]
    [InlineData(null, 121.0, false)]
    public void First_token_and_connect_timeouts_are_positive_and_within_their_bounds(double? firstToken, double? connect, bool valid)
    {
        var d = Mock();
        d.FirstTokenTimeoutSeconds = firstToken;
        d.ConnectTimeoutSeconds = connect;
        var errors = ValidateOne(d);
        if (valid) Assert.Empty(errors);
        else Assert.Single(errors, e => e.Contains(firstToken is null ? "ConnectTimeoutSeconds" : "FirstTokenTimeoutSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void Default_max_tokens_must_be_positive()
    {
        var d = Mock();
        d.DefaultMaxTokens = 0;
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('mock-d'):DefaultMaxTokens must be at least 1."], ValidateOne(d));
    }

    [Theory]
    [InlineData(-1, 0, 16)]
    [InlineData(0, -1, 16)]
    [InlineData(0, 0, 0)]
    public void Mock_settings_are_checked(int latency, int delay, int tokens)
    {
        var d = Mock();
        d.MockLatencyMs = latency;
        d.MockChunkDelayMs = delay;
        d.MockCompletionTokens = tokens;
        Assert.Equal(["Gateway:Catalog:Deployments:0 ('mock-d'): mock latency and delay must not be negative and MockCompletionTokens must be at least 1."], ValidateOne(d));
    }

    [Fact]
    public void Every_problem_of_a_deployment_is_reported_at_once_in_order()
    {
        var d = new DeploymentOptions { Name = "az", Provider = "azure-openai", Auth = "key", Weight = 0, Priority = -2, TimeoutSeconds = 0, DefaultMaxTokens = 0 };
        Assert.Equal(
            [
                "Gateway:Catalog:Deployments:0 ('az'):Model is required (the upstream model id, or the Azure OpenAI deployment name).",
                "Gateway:Catalog:Deployments:0 ('az'):Endpoint is required for provider 'azure-openai'.",
                "Gateway:Catalog:Deployments:0 ('az'):ApiVersion is required for provider 'azure-openai' (for example 2024-10-21).",
                "Gateway:Catalog:Deployments:0 ('az'):ApiKeySetting is required: name the app setting that holds the azure-openai key.",
                "Gateway:Catalog:Deployments:0 ('az'):Weight must be at least 1 (was 0).",
                "Gateway:Catalog:Deployments:0 ('az'):Priority must not be negative (was -2).",
                "Gateway:Catalog:Deployments:0 ('az'):TimeoutSeconds must be between 0 and 3600 (was 0).",
                "Gateway:Catalog:Deployments:0 ('az'):DefaultMaxTokens must be at least 1.",
            ],
            ValidateOne(d));
    }

    // ---- models ----

    [Fact]
    public void An_empty_model_list_is_reported()
    {
        Assert.Equal(["Gateway:Catalog:Models is empty: configure at least one model (the shipped catalog.json has the offline 'mock-1')."],
            CatalogValidator.Validate(Catalog([Mock()]), Default));
    }

    [Fact]
    public void A_model_needs_a_name_and_deployments()
    {
        var errors = CatalogValidator.Validate(Catalog([Mock()], Model("ok", "mock-d"), new ModelOptions { Name = "" }, new ModelOptions { Name = "empty" }), Default);
        Assert.Equal(
            [
                "Gateway:Catalog:Models:1:Name is required.",
                "Gateway:Catalog:Models:1:Deployments is empty: name at least one deployment.",
                "Gateway:Catalog:Models:2 ('empty'):Deployments is empty: name at least one deployment.",
            ],
            errors);
    }

    [Fact]
    public void A_model_naming_an_unknown_deployment_is_reported()
    {
        var errors = CatalogValidator.Validate(Catalog([Mock()], Model("m", "mock-d", "gone")), Default);
        Assert.Equal(["Gateway:Catalog:Models:0 ('m'):Deployments names 'gone', which is not a configured deployment."], errors);
    }

    [Fact]
    public void Deployment_references_are_case_insensitive_like_deployment_names()
    {
        Assert.Empty(CatalogValidator.Validate(Catalog([Mock("Mock-D")], Model("m", "mock-d")), Default));
    }

    [Fact]
    public void A_deployment_of_an_unknown_provider_still_counts_as_configured()
    {
        var errors = CatalogValidator.Validate(Catalog([new DeploymentOptions { Name = "g", Provider = "gemini" }], Model("m", "g")), Default);
        Assert.Single(errors);
    }

    [Fact]
    public void Duplicate_model_names_and_aliases_are_reported_with_their_owner()
    {
        var catalog = Catalog([Mock()],
            new ModelOptions { Name = "gpt-4o", Aliases = ["gpt4o", "4o"], Deployments = ["mock-d"] },
            new ModelOptions { Name = "gpt-4o", Deployments = ["mock-d"] },
            new ModelOptions { Name = "other", Aliases = ["4o", "other"], Deployments = ["mock-d"] },
            new ModelOptions { Name = "gpt4o", Deployments = ["mock-d"] });
        Assert.Equal(
            [
                "Gateway:Catalog:Models:1 ('gpt-4o'): the name 'gpt-4o' is already used by model 'gpt-4o'.",
                "Gateway:Catalog:Models:2 ('other'): the name '4o' is already used by model 'gpt-4o'.",
                "Gateway:Catalog:Models:2 ('other'): the name 'other' is already used by model 'other'.",
                "Gateway:Catalog:Models:3 ('gpt4o'): the name 'gpt4o' is already used by model 'gpt-4o'.",
            ],
            CatalogValidator.Validate(catalog, Default));
    }

    [Fact]
    public void Model_names_are_case_sensitive_so_differently_cased_names_may_coexist()
    {
        Assert.Empty(CatalogValidator.Validate(Catalog([Mock()], Model("GPT", "mock-d"), Model("gpt", "mock-d")), Default));
    }

    [Fact]
    public void Fallbacks_must_name_other_configured_models()
    {
        var catalog = Catalog([Mock()],
            new ModelOptions { Name = "a", Aliases = ["alias-a"], Deployments = ["mock-d"], Fallbacks = ["b", "missing", "a"] },
            new ModelOptions { Name = "b", Deployments = ["mock-d"], Fallbacks = ["alias-a"] });
        Assert.Equal(
            [
                "Gateway:Catalog:Models:0 ('a'):Fallbacks names 'missing', which is not a configured model.",
                "Gateway:Catalog:Models:0 ('a'):Fallbacks names the model itself.",
                "Gateway:Catalog:Models:1 ('b'):Fallbacks names 'alias-a', which is not a configured model.",
            ],
            CatalogValidator.Validate(catalog, Default));
    }

    [Fact]
    public void Fallbacks_may_name_a_model_defined_later()
    {
        var catalog = Catalog([Mock()],
            new ModelOptions { Name = "a", Deployments = ["mock-d"], Fallbacks = ["z"] },
            Model("z", "mock-d"));
        Assert.Empty(CatalogValidator.Validate(catalog, Default));
    }

    [Fact]
    public void Problems_of_deployments_and_models_are_all_reported_together()
    {
        var bad = OpenAi();
        bad.ApiKeySetting = "MISSING";
        var errors = CatalogValidator.Validate(Catalog([bad], Model("m", "nope")), Default);
        Assert.Equal(
            [
                "Gateway:Catalog:Deployments:0 ('openai-main'):ApiKeySetting names the setting 'MISSING', which is not set.",
                "Gateway:Catalog:Models:0 ('m'):Deployments names 'nope', which is not a configured deployment.",
            ],
            errors);
    }

    // ---- ModelCatalog built from a valid configuration ----

    [Fact]
    public void Create_throws_a_catalog_exception_listing_every_problem()
    {
        var ex = Assert.Throws<CatalogException>(() => ModelCatalog.Create(Catalog([Mock()], Model("m", "x"), Model("m", "mock-d")), Default));
        Assert.Equal(2, ex.Errors.Count);
        Assert.Equal(
            "The model catalog is invalid:" + Environment.NewLine +
            "  - Gateway:Catalog:Models:0 ('m'):Deployments names 'x', which is not a configured deployment." + Environment.NewLine +
            "  - Gateway:Catalog:Models:1 ('m'): the name 'm' is already used by model 'm'.",
            ex.Message);
    }

    [Fact]
    public void Names_and_aliases_resolve_to_the_same_model_with_its_deployments_in_order()
    {
        var catalog = ModelCatalog.Create(Catalog([Mock("one"), Mock("two")],
            new ModelOptions { Name = "gpt-4o", Aliases = ["gpt4o"], Deployments = ["TWO", "one"], Fallbacks = ["mini"], OwnedBy = "openai" },
            Model("mini", "one")), Default);
        var byName = catalog.Resolve("gpt-4o");
        Assert.Same(byName, catalog.Resolve("gpt4o"));
        Assert.Equal(["two", "one"], byName.Deployments.Select(d => d.Name));
        Assert.Equal(["mini"], byName.Fallbacks);
        Assert.Equal("openai", byName.OwnedBy);
        Assert.Equal("llm-gateway", catalog.Resolve("mini").OwnedBy);
        Assert.False(catalog.TryResolve("GPT-4O", out _));
    }

    [Fact]
    public void An_unknown_model_is_a_404_model_not_found()
    {
        var catalog = ModelCatalog.Create(Catalog([Mock()], Model("m", "mock-d")), Default);
        var error = Assert.Throws<GatewayException>(() => catalog.Resolve("gpt-5")).Error;
        Assert.Equal(new GatewayError(404, "The model 'gpt-5' does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found"), error);
    }

    [Fact]
    public void Allow_lists_match_names_aliases_and_the_wildcard()
    {
        var model = new CatalogModel("gpt-4o", ["gpt4o"], [], [], "x");
        Assert.True(model.IsAllowedBy([]));
        Assert.True(model.IsAllowedBy(["gpt-4o"]));
        Assert.True(model.IsAllowedBy(["gpt4o"]));
        Assert.True(model.IsAllowedBy(["*"]));
        Assert.False(model.IsAllowedBy(["mini"]));
        Assert.False(model.IsAllowedBy(["GPT-4O"]));
    }

    [Fact]
    public void Key_vault_references_are_recognised_case_insensitively()
    {
        Assert.True(SecretReference.IsUnresolvedKeyVaultReference("@Microsoft.KeyVault(SecretUri=https://v/s)"));
        Assert.True(SecretReference.IsUnresolvedKeyVaultReference("@microsoft.keyvault(VaultName=v;SecretName=s)"));
        Assert.False(SecretReference.IsUnresolvedKeyVaultReference("sk-123"));
        Assert.False(SecretReference.IsUnresolvedKeyVaultReference(null));
    }

    [Fact]
    public void A_nan_timeout_is_reported()
    {
        var d = Mock();
        d.TimeoutSeconds = double.NaN;
        Assert.Single(ValidateOne(d));
    }
}
