using Gateway.Core.Configuration;
using Gateway.Core.Resilience;

namespace Gateway.Core.Tests.Resilience;

/// <summary>The seam of a continued stream: nothing repeated, nothing lost, whatever pieces the continuation comes in.</summary>
public sealed class StreamContinuationTests
{
    private static string Spliced(string delivered, string mode, string continuation, Random random)
    {
        var splicer = new StreamContinuation.Splicer(delivered, mode);
        var output = new System.Text.StringBuilder();
        for (var at = 0; at < continuation.Length;)
        {
            var n = Math.Min(continuation.Length - at, random.Next(1, 8));
            output.Append(splicer.Take(continuation.Substring(at, n)));
            at += n;
        }

        return output.Append(splicer.Flush()).ToString();
    }

    [Fact]
    public void An_instructed_continuation_loses_a_repeat_of_the_answer_s_end_and_nothing_else()
    {
        const string Whole = "The quarterly review covered revenue, churn and the support backlog for the payments team.";
        var random = new Random(3);
        for (var cut = 1; cut < Whole.Length; cut++)
        {
            foreach (var repeat in new[] { 0, StreamContinuation.MinOverlap, 20, cut }.Select(r => Math.Min(r, cut)).Where(r => r == 0 || r >= StreamContinuation.MinOverlap))
            {
                var delivered = Whole[..cut];
                var continuation = Whole[Math.Max(0, cut - repeat)..];
                Assert.Equal(Whole, delivered + Spliced(delivered, StreamContinuation.Instructed, continuation, random));
            }
        }

        // a shorter "repeat" may be the text itself ("sup" + "port"): kept
        Assert.Equal("port backlog", Spliced("the sup", StreamContinuation.Instructed, "port backlog", random));
    }

    [Fact]
    public void A_prefill_continuation_loses_the_whitespace_the_prefill_left_out_once()
    {
        var random = new Random(4);
        Assert.Equal("world.", Spliced("Hello ", StreamContinuation.Prefill, " world.", random));
        Assert.Equal("  indented", Spliced("line\n", StreamContinuation.Prefill, "\n  indented", random));
        Assert.Equal("next", Spliced("Hello", StreamContinuation.Prefill, "next", random));
    }

    [Fact]
    public void Modes_default_by_provider_and_an_unknown_mode_is_a_catalog_error()
    {
        Assert.Equal(StreamContinuation.Prefill, StreamContinuation.ModeOf(new DeploymentOptions { Provider = "anthropic" }));
        Assert.Equal(StreamContinuation.Instructed, StreamContinuation.ModeOf(new DeploymentOptions { Provider = "azure-openai" }));
        Assert.Equal(StreamContinuation.ContinueFinalMessage, StreamContinuation.ModeOf(new DeploymentOptions { Provider = "openai-compatible", Continuation = "continue_final_message" }));

        var options = new CatalogOptions
        {
            Deployments = [new DeploymentOptions { Name = "x", Provider = "mock", Model = "mock-1", Continuation = "guess", StreamIdleTimeoutSeconds = -1 }],
            Models = [new ModelOptions { Name = "m", Deployments = ["x"] }],
        };
        var ex = Assert.Throws<CatalogException>(() => ModelCatalog.Create(options, new NoSecrets(), Gateway.Core.Pricing.PriceCatalog.Default, DateTimeOffset.UnixEpoch));
        Assert.Contains("Continuation must be one of", ex.Message, StringComparison.Ordinal);
        Assert.Contains("StreamIdleTimeoutSeconds", ex.Message, StringComparison.Ordinal);
    }

    private sealed class NoSecrets : ISecretResolver
    {
        public string? Resolve(string settingName) => null;
    }
}
