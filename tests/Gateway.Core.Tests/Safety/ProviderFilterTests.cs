using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Safety;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>Azure OpenAI's own content filter: its results reach the client untouched, streams too, and its decisions are recorded.</summary>
[Trait("Category", "Pipeline")]
public sealed class ProviderFilterTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway(string? policy)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "aoai", Provider = "azure-openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri.ToString(), ApiVersion = "2024-10-21", ApiKeySetting = "K" },
                    new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" },
                ],
                // OpenAI as the Azure deployment's fallback: a filtered request must not move to OpenAI
                Models = [new ModelOptions { Name = "m", Deployments = ["aoai"], Fallbacks = ["m2"] }, new ModelOptions { Name = "m2", Deployments = ["oai"] }],
            },
            Safety = new SafetyOptions { Policy = policy },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, usage, key);
    }

    private static JsonNode? First(JsonObject chunk) => chunk["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;

    [Theory]
    [InlineData(null)]
    [InlineData("baseline")]
    public async Task The_filter_results_pass_through_answers_and_streams(string? policy)
    {
        var (runtime, _, key) = await Gateway(policy);
        _upstream.Enqueue(new FakeReply { Text = "hello there" });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        var body = JsonNode.Parse(sent.Text)!;
        Assert.Equal("safe", (string?)body["prompt_filter_results"]![0]!["content_filter_results"]!["hate"]!["severity"]);
        Assert.False((bool)body["choices"]![0]!["content_filter_results"]!["violence"]!["filtered"]!);

        _upstream.Enqueue(new FakeReply { Text = "hello there" });
        var streamed = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(streamed.StreamError);
        var events = streamed.Events();
        Assert.Contains(events, e => e["prompt_filter_results"] is JsonArray);
        Assert.Contains(events, e => First(e)?["content_filter_results"]?["hate"] is JsonObject);
    }

    [FeatureTheory(GatewayFeature.Safety)]
    [InlineData(null)]
    [InlineData("baseline")]
    public async Task A_prompt_the_provider_filters_is_a_400_content_filter_with_its_categories_and_is_not_sent_elsewhere(string? policy)
    {
        var (runtime, usage, key) = await Gateway(policy);
        _upstream.EnqueueFault(new AzureContentFilter());
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","messages":[{"role":"user","content":"something violent"}]}""");
        var error = sent.Outcome.Error!;
        Assert.Equal((400, "content_filter", "prompt"), (error.Status, error.Code, error.Param));
        Assert.True((bool)error.InnerError!["content_filter_result"]!["violence"]!["filtered"]!);
        Assert.Single(_upstream.Requests);
        Assert.Equal("provider: block provider.violence=1", sent.Context.ResponseHeaders[SafetyStage.Header]);
        Assert.Equal("provider: block provider.violence=1", Assert.Single(usage.Records).Safety);
        Assert.Contains("\"innererror\"", System.Text.Encoding.UTF8.GetString(error.ToJsonBytes()), StringComparison.Ordinal);
    }

    [FeatureFact(GatewayFeature.Safety)]
    public async Task An_answer_the_provider_filters_is_passed_on_and_recorded_in_streams_too()
    {
        var (runtime, usage, key) = await Gateway("baseline");
        _upstream.Enqueue(new FakeReply { Text = "partial", FinishReason = "content_filter" });
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("content_filter", (string?)JsonNode.Parse(sent.Text)!["choices"]![0]!["finish_reason"]);
        Assert.Equal("provider: block provider.violence=1", sent.Context.ResponseHeaders[SafetyStage.Header]);

        _upstream.Enqueue(new FakeReply { Text = "partial", FinishReason = "content_filter" });
        var streamed = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Contains(streamed.Events(), e => (string?)First(e)?["finish_reason"] == "content_filter");
        Assert.Equal("provider: block provider.violence=1", usage.Records[^1].Safety);
    }
}
