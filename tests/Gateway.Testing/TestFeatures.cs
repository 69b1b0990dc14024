using Gateway.Core.Hosting;
using Xunit;

namespace Gateway.Testing;

/// <summary>
/// The feature flags the tests build the gateway with: every capability on, except those named (comma-separated) in
/// <c>GATEWAY_TEST_FEATURE_OFF</c> — how <c>tests/feature-matrix.sh</c> runs the pipeline tests once per flag off. A name
/// that is not a flag fails the run rather than testing nothing.
/// </summary>
public static class TestFeatures
{
    public const string Variable = "GATEWAY_TEST_FEATURE_OFF";

    /// <summary>The capabilities switched off for this run (none unless <see cref="Variable"/> says so).</summary>
    public static IReadOnlyList<GatewayFeature> Off { get; } = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The flags every test gateway is built with.</summary>
    public static GatewayFeatures Current { get; } = GatewayFeatures.Without([.. Off]);

    public static IReadOnlyList<GatewayFeature> Parse(string? value) =>
        [.. (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => GatewayFeatures.Parse(name)
                ?? throw new InvalidOperationException($"{Variable} names '{name}', which is not a feature flag: use {string.Join(", ", GatewayFeatures.Names)}."))];

    /// <summary>Why a test that needs <paramref name="required"/> is skipped in this run, or null when it runs.</summary>
    public static string? SkipUnless(IEnumerable<GatewayFeature> required)
    {
        var missing = required.Where(f => !Current.IsOn(f)).ToList();
        return missing.Count == 0 ? null : $"needs the {string.Join(", ", missing)} feature, off in this run ({Variable})";
    }
}

/// <summary>A fact about a capability: skipped in a run with that capability's flag off (<see cref="TestFeatures"/>).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class FeatureFactAttribute : FactAttribute
{
    public FeatureFactAttribute(params GatewayFeature[] required)
    {
        Required = required;
        if (TestFeatures.SkipUnless(required) is { } why) Skip = why;
    }

    public IReadOnlyList<GatewayFeature> Required { get; }
}

/// <summary>A theory about a capability: skipped in a run with that capability's flag off (<see cref="TestFeatures"/>).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class FeatureTheoryAttribute : TheoryAttribute
{
    public FeatureTheoryAttribute(params GatewayFeature[] required)
    {
        Required = required;
        if (TestFeatures.SkipUnless(required) is { } why) Skip = why;
    }

    public IReadOnlyList<GatewayFeature> Required { get; }
}
