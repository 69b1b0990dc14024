using Gateway.Core.Configuration;

namespace Gateway.Core.Tests.Configuration;

/// <summary>The fixed local development key is for a developer's machine: refused on Azure and outside Development.</summary>
public sealed class DevKeyPolicyTests
{
    private const string Key = "sk-gw-dev-local";

    private static Func<string, string?> Settings(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void On_a_developer_machine_in_development_the_key_is_allowed()
    {
        Assert.Null(DevKeyPolicy.Refusal(Key, Settings(("AZURE_FUNCTIONS_ENVIRONMENT", "Development"))));
        Assert.Null(DevKeyPolicy.Refusal(Key, Settings(("DOTNET_ENVIRONMENT", "development"))));
        Assert.Null(DevKeyPolicy.Refusal(null, Settings(("WEBSITE_INSTANCE_ID", "abc"))));
        Assert.Null(DevKeyPolicy.Refusal("", Settings()));
    }

    [Fact]
    public void On_azure_the_key_is_refused_even_if_the_environment_says_development()
    {
        var refusal = DevKeyPolicy.Refusal(Key, Settings(("WEBSITE_INSTANCE_ID", "0f1e2d"), ("AZURE_FUNCTIONS_ENVIRONMENT", "Development")));
        Assert.NotNull(refusal);
        Assert.Contains("WEBSITE_INSTANCE_ID", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AZURE_FUNCTIONS_ENVIRONMENT", "Production")]
    [InlineData("AZURE_FUNCTIONS_ENVIRONMENT", "Staging")]
    [InlineData("ASPNETCORE_ENVIRONMENT", "Production")]
    public void Outside_development_the_key_is_refused_naming_the_environment(string name, string value)
    {
        var refusal = DevKeyPolicy.Refusal(Key, Settings((name, value)));
        Assert.NotNull(refusal);
        Assert.Contains($"'{value}' ({name})", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void With_no_environment_set_the_key_is_refused_as_production()
    {
        var refusal = DevKeyPolicy.Refusal(Key, Settings());
        Assert.NotNull(refusal);
        Assert.Contains("counts as Production", refusal, StringComparison.Ordinal);
    }
}
