using Gateway.Core.Configuration;
using Gateway.Core.Pipeline;

namespace Gateway.Testing;

/// <summary>Request headers carrying a gateway key as a bearer token, plus any extra headers a test sets.</summary>
internal sealed class BearerHeaders(string key, IDictionary<string, string>? extra = null) : IRequestHeaders
{
    private readonly string _authorization = "Bearer " + key;

    public string? Get(string name) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? _authorization
        : extra is not null && extra.TryGetValue(name, out var value) ? value
        : null;
}

/// <summary>Secret resolvers for tests: none set, or every setting holding a fake upstream key.</summary>
internal static class TestSecrets
{
    public static ISecretResolver None { get; } = new Fixed(null);

    /// <summary>Every setting resolves to <c>sk-upstream-test</c> (what the fake LLM server accepts by default).</summary>
    public static ISecretResolver Upstream { get; } = new Fixed("sk-upstream-test");

    private sealed class Fixed(string? value) : ISecretResolver
    {
        public string? Resolve(string settingName) => value;
    }
}
