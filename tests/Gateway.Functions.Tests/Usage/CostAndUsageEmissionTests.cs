using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;
using Gateway.Functions.Tests.Infrastructure;
using Gateway.Testing;

namespace Gateway.Functions.Tests.Usage;

/// <summary>
/// What a request leaves behind, through the real function class: the cost headers (estimate before, actual after; at
/// the end of a stream), and exactly one usage record whatever the outcome.
/// </summary>
public sealed class CostAndUsageEmissionTests : IAsyncLifetime
{
    private const string UpstreamKey = "sk-upstream-usage-secret";
    private FakeLlmServer _upstream = null!;
    private TestGateway _gateway = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeLlmServer.StartAsync();
        _upstream.RequiredApiKey = UpstreamKey;
        var endpoint = _upstream.BaseUri.ToString();
        _gateway = new TestGateway(
            configure: o =>
            {
                o.Catalog.Deployments.Add(new DeploymentOptions { Name = "oai", Provider = ProviderKind.OpenAi, Model = "gpt-4o", Endpoint = endpoint + "v1", ApiKeySetting = "K" });
                o.Catalog.Deployments.Add(new DeploymentOptions { Name = "claude", Provider = ProviderKind.Anthropic, Model = "claude-sonnet-4-5", Endpoint = endpoint, ApiKeySetting = "K" });
                o.Catalog.Deployments.Add(new DeploymentOptions
                {
                    Name = "aoai", Provider = ProviderKind.AzureOpenAi, Model = "prod-chat", Endpoint = endpoint, ApiKeySetting = "K", ApiVersion = "2024-10-21",
                    Pricing = new DeploymentPricingOptions { PriceAs = "gpt-4.1", Discount = 0.1m },
                });
                o.Catalog.Models.Add(new ModelOptions { Name = "gpt-4o", Deployments = ["oai"] });
                o.Catalog.Models.Add(new ModelOptions { Name = "claude", Deployments = ["claude"] });
                o.Catalog.Models.Add(new ModelOptions { Name = "azure-chat", Deployments = ["aoai"] });
            },
            secrets: new Dictionary<string, string?> { ["K"] = UpstreamKey });
        _key = await _gateway.CreateKeyAsync(name: "billing", team: "payments", user: "alice");
    }

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<(Microsoft.AspNetCore.Http.DefaultHttpContext Context, string Text)> Post(string body, IDictionary<string, string>? headers = null)
    {
        var context = TestGateway.Request("POST", "/v1/chat/completions", body, _key, headers);
        await _gateway.ChatAsync(context.Request);
        return (context, TestGateway.ResponseText(context));
    }

    private static decimal Header(Microsoft.AspNetCore.Http.DefaultHttpContext context, string name) =>
        decimal.Parse(context.Response.Headers[name].ToString(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_completion_carries_its_estimate_and_its_cost_and_leaves_one_record()
    {
        _upstream.Enqueue(new FakeReply { Text = "Four.", PromptTokens = 1200, CachedPromptTokens = 1024, CompletionTokens = 40, ReasoningTokens = 0, Model = "gpt-4o-2024-11-20" });
        var (context, _) = await Post("""{"model":"gpt-4o","max_tokens":50,"messages":[{"role":"user","content":"What is 2+2?"}]}""",
            new Dictionary<string, string> { ["x-gateway-tags"] = "feature=checkout, env=prod", ["x-request-id"] = "client-7" });

        Assert.Equal(200, context.Response.StatusCode);
        // 176 × 2.50 + 1024 × 1.25 + 40 × 10 = 440 + 1280 + 400 = 2120 / 1e6
        Assert.Equal(0.00212m, Header(context, "x-gateway-cost-usd"));
        Assert.True(Header(context, "x-gateway-cost-estimate-usd") > 0m);

        var record = Assert.Single(_gateway.UsageRecords);
        Assert.Equal(context.Response.Headers["x-gateway-request-id"].ToString(), record.RequestId);
        Assert.Equal("client-7", record.ClientRequestId);
        Assert.Equal(0.00212m, record.CostUsd);
        Assert.False(record.CostEstimated);
        Assert.Equal("openai/gpt-4o@2024-10-02", record.PriceKey);
        Assert.Equal((1200L, 40L, 1024L), (record.PromptTokens, record.CompletionTokens, record.CachedTokens));
        Assert.Equal(("payments", "alice", "billing"), (record.Team, record.User, record.KeyName));
        Assert.Equal("gpt-4o", record.ModelRequested);
        Assert.Equal("gpt-4o-2024-11-20", record.ModelServed);
        Assert.Equal(("openai", "oai"), (record.Provider, record.Deployment));
        Assert.Equal(new Dictionary<string, string> { ["feature"] = "checkout", ["env"] = "prod" }, record.Tags);
        Assert.Equal(UsageOutcomes.Success, record.Outcome);
        Assert.Null(record.TimeToFirstTokenMs);
    }

    [Fact]
    public async Task The_record_keeps_the_request_hash_prefix_cap_tools_and_finish_reason_when_the_cache_is_bypassed()
    {
        const string Lead = """ "tools":[{"type":"function","function":{"name":"lookup_invoice","parameters":{"type":"object"}}}],"messages":[{"role":"system","content":"You answer questions about invoices, politely and briefly, in the customer's language."},""";
        string Ask(string question, string extra = "") => $$"""{"model":"gpt-4o","max_tokens":300,{{extra}}{{Lead}}{"role":"user","content":"{{question}}"}]}""";
        _upstream.Enqueue(new FakeReply { Text = "Paid.", FinishReason = "stop" });
        _upstream.Enqueue(new FakeReply { Text = "Paid.", FinishReason = "stop" });
        _upstream.Enqueue(new FakeReply { Text = "It is", FinishReason = "length" });
        await Post(Ask("Is invoice 7 paid?"));
        // the end user is not part of the hash: the same question from someone else is the same request
        await Post(Ask("Is invoice 7 paid?", "\"user\":\"bob\","));
        await Post(Ask("When is invoice 9 due?", "\"stream\":true,"));

        var records = _gateway.UsageRecords;
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("bypass", r.CacheStatus));
        Assert.All(records, r => Assert.Matches("^[0-9a-f]{64}$", r.RequestHash));
        Assert.Equal(records[0].RequestHash, records[1].RequestHash);
        Assert.NotEqual(records[0].RequestHash, records[2].RequestHash);
        // one prefix (system message and tools) under both questions, counted by the estimate
        Assert.Matches("^[0-9a-f]{64}$", records[0].PrefixHash);
        Assert.All(records, r => Assert.Equal(records[0].PrefixHash, r.PrefixHash));
        Assert.All(records, r => Assert.InRange(r.PrefixTokens ?? 0, 20, 200));
        Assert.All(records, r => Assert.Equal((300, 1), (r.MaxTokens, r.ToolsOffered)));
        Assert.Equal(["stop", "stop", "length"], records.Select(r => r.FinishReason));
    }

    [Fact]
    public async Task The_request_hash_is_the_cache_entry_key_without_its_scope_and_a_lone_question_has_no_prefix()
    {
        _upstream.Enqueue(new FakeReply { Text = "4" });
        await Post("""{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"2+2?"}]}""");
        await Post("""{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"2+2?"}]}""");

        var (miss, hit) = (_gateway.UsageRecords[0], _gateway.UsageRecords[1]);
        Assert.Equal(("miss", "hit"), (miss.CacheStatus, hit.CacheStatus));
        Assert.Equal("team:payments|" + miss.RequestHash, miss.CacheKey);
        Assert.Equal(miss.RequestHash, hit.RequestHash);
        Assert.Equal("stop", hit.FinishReason);
        Assert.Null(miss.PrefixHash);
        Assert.Null(miss.PrefixTokens);
        Assert.Null(miss.MaxTokens);
        Assert.Equal(0, miss.ToolsOffered);
    }

    [Fact]
    public async Task The_estimate_is_never_below_the_cost_when_max_tokens_is_set()
    {
        foreach (var (model, max) in new[] { ("mock-1", 3), ("mock-1", 100), ("mock-2", 1), ("mock", 7) })
        {
            var (context, _) = await Post($$"""{"model":"{{model}}","max_tokens":{{max}},"n":2,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"tell me about the gateway and its prices"}]}""");
            Assert.Equal(200, context.Response.StatusCode);
            Assert.True(Header(context, "x-gateway-cost-estimate-usd") >= Header(context, "x-gateway-cost-usd"), $"{model} max {max}");
            Assert.True(Header(context, "x-gateway-cost-usd") > 0m);
        }
    }

    [Fact]
    public async Task A_stream_carries_its_cost_on_the_usage_chunk_and_at_the_end()
    {
        _upstream.Enqueue(new FakeReply { Text = "one two three", PromptTokens = 300, CompletionTokens = 3, CacheWriteTokens = 100, CachedPromptTokens = 0 });
        var (context, text) = await Post("""{"model":"claude","stream":true,"stream_options":{"include_usage":true},"max_tokens":20,"messages":[{"role":"user","content":"count"}]}""");

        Assert.Equal(200, context.Response.StatusCode);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        // Anthropic reports input_tokens 200 and cache_creation_input_tokens 100 (300 prompt tokens in all):
        // 200 × 3 + 100 × 3.75 + 3 × 15 = 600 + 375 + 45 = 1020 / 1e6
        Assert.Equal(": x-gateway-cost-usd=0.001020", events[^2]);
        var usageChunk = JsonNode.Parse(events[^3]["data: ".Length..])!;
        Assert.Equal(0.00102m, (decimal)usageChunk["x_gateway"]!["cost_usd"]!);
        Assert.False((bool)usageChunk["x_gateway"]!["estimated"]!);

        var record = Assert.Single(_gateway.UsageRecords);
        Assert.Equal(0.00102m, record.CostUsd);
        Assert.True(record.Stream);
        Assert.NotNull(record.TimeToFirstTokenMs);
        Assert.Equal((300L, 100L), (record.PromptTokens, record.CacheWriteTokens));
    }

    [Fact]
    public async Task A_stream_cut_short_is_priced_from_what_was_relayed_and_marked_estimated()
    {
        _upstream.Enqueue(new FakeReply { Text = "alpha beta gamma delta epsilon zeta eta theta", PromptTokens = 50, CompletionTokens = 8 });
        _upstream.EnqueueFault(new BrokenStream(AfterChunks: 4));
        // and the continuation fails too (the only deployment keeps failing): the stream ends broken
        _upstream.EnqueueFault(new ServerError(500));
        var (context, text) = await Post("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"greek letters"}]}""");

        Assert.Contains("\"error\"", text, StringComparison.Ordinal);
        var record = Assert.Single(_gateway.UsageRecords);
        Assert.Equal(UsageOutcomes.StreamBroken, record.Outcome);
        Assert.True(record.CostEstimated);
        Assert.True(record.CompletionTokens > 0, "the relayed text is counted");
        Assert.True(record.PromptTokens > 0, "the prompt is the pre-call count");
        var expected = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default))
            .Cost(new DeploymentOptions { Name = "x", Provider = "openai", Model = "gpt-4o" }, new TokenUsage((int)record.PromptTokens, (int)record.CompletionTokens), record.At);
        Assert.Equal(expected.CostUsd, record.CostUsd);
        Assert.True(record.CostUsd > 0m);
    }

    [Fact]
    public async Task Azure_deployments_are_priced_as_their_configured_model_with_their_discount()
    {
        _upstream.Enqueue(new FakeReply { Text = "ok", PromptTokens = 1000, CompletionTokens = 100, Model = "gpt-4.1-2025-04-14" });
        var (context, _) = await Post("""{"model":"azure-chat","messages":[{"role":"user","content":"hi"}]}""");
        // (1000 × 2.00 + 100 × 8.00) / 1e6 × 0.9 = 2800 / 1e6 × 0.9
        Assert.Equal(0.002520m, Header(context, "x-gateway-cost-usd"));
        Assert.Equal("azure-openai/gpt-4.1@2025-04-14", Assert.Single(_gateway.UsageRecords).PriceKey);
    }

    [Fact]
    public async Task Errors_leave_a_record_with_their_status_and_no_cost()
    {
        _upstream.EnqueueFault(new RateLimited(7));
        var (limited, _) = await Post("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var (bad, _) = await Post("""{"model":"gpt-4o","messages":"not a list"}""");
        var (unknown, _) = await Post("""{"model":"nope","messages":[{"role":"user","content":"hi"}]}""");
        var (badTags, _) = await Post("""{"model":"mock","messages":[{"role":"user","content":"hi"}]}""", new Dictionary<string, string> { ["x-gateway-tags"] = "novalue" });

        Assert.Equal((429, 400, 404, 400), (limited.Response.StatusCode, bad.Response.StatusCode, unknown.Response.StatusCode, badTags.Response.StatusCode));
        var records = _gateway.UsageRecords;
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.Equal(UsageOutcomes.Error, r.Outcome));
        Assert.All(records, r => Assert.Equal(0m, r.CostUsd));
        Assert.Equal([429, 400, 404, 400], records.Select(r => r.Status));
        Assert.Equal(4, records.Select(r => r.RequestId).Distinct().Count());
        Assert.All(records, r => Assert.Null(r.ClientRequestId)); // no x-request-id was sent
    }

    [Fact]
    public async Task Unauthenticated_requests_leave_no_record()
    {
        var context = TestGateway.Request("POST", "/v1/chat/completions", """{"model":"mock","messages":[]}""", "sk-gw-wrong");
        await _gateway.ChatAsync(context.Request);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Empty(_gateway.UsageRecords);
    }
}
