namespace Gateway.Testing;

/// <summary>Tests that use Azurite share one <see cref="AzuriteFixture"/> per test assembly. Linked into each test
/// project, because xunit looks for collection definitions in the test assembly itself.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
