using System.Globalization;
using System.Text;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Pricing;

public sealed class EstimateTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2025-12-01T00:00:00Z", CultureInfo.InvariantCulture);
    private static readonly PricingCostMeter Meter = new(new PriceCatalogHolder(PriceCatalog.Default));

    private static ChatRequest Request(string json) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));

    private static DeploymentOptions Dep(string provider, string model) => new() { Name = model, Provider = provider, Model = model };

    [Fact]
    public void OpenAi_models_are_counted_with_their_real_tokenizer()
    {
        Assert.Equal(2, TokenCounter.Count(TokenizerKind.O200k, "hello world"));
        Assert.Equal(2, TokenCounter.Count(TokenizerKind.Cl100k, "hello world"));
        Assert.Equal(TokenizerKind.O200k, TokenCounter.KindOf("openai", "gpt-4o-mini"));
        Assert.Equal(TokenizerKind.O200k, TokenCounter.KindOf("azure-openai", "gpt-4.1"));
        Assert.Equal(TokenizerKind.Cl100k, TokenCounter.KindOf("openai", "gpt-4-turbo"));
        Assert.Equal(TokenizerKind.Cl100k, TokenCounter.KindOf("azure-openai", "gpt-35-turbo"));
        Assert.Equal(TokenizerKind.Approximate, TokenCounter.KindOf("anthropic", "claude-sonnet-4-5"));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("abc", 1)]
    [InlineData("abcd", 2)]
    [InlineData("数据", 3)]
    [InlineData("🙂", 2)]
    [InlineData("naïve", 3)]
    public void Anthropic_counts_use_the_documented_approximation(string text, int expected) =>
        Assert.Equal(expected, TokenCounter.Approximate(text));

    [Fact]
    public void The_estimate_prices_the_prompt_at_its_dearest_and_the_output_cap_per_choice()
    {
        var request = Request("""{"model":"x","messages":[{"role":"user","content":"hello world"}],"max_tokens":100,"n":2}""");
        var estimate = Meter.EstimateFor(request, Dep("anthropic", "claude-sonnet-4-5"), At);
        // prompt: 3 priming + 4 framing + "user" (2) + "hello world" (4) = 13; output 100 × 2 choices
        Assert.Equal(13, estimate.PromptTokens);
        Assert.Equal(200, estimate.MaxOutputTokens);
        // every prompt token could be a one-hour cache write (6.00), output at 15.00: (13 × 6 + 200 × 15) / 1e6
        Assert.Equal((13 * 6m + 200 * 15m) / 1_000_000m, estimate.MaxCostUsd);
        Assert.True(estimate.Bounded);
        Assert.True(estimate.Priced);
    }

    [Fact]
    public void Without_max_tokens_the_models_listed_maximum_bounds_the_output()
    {
        var request = Request("""{"model":"x","messages":[{"role":"user","content":"hi"}]}""");
        var estimate = Meter.EstimateFor(request, Dep("openai", "gpt-4o"), At);
        Assert.Equal(16384, estimate.MaxOutputTokens);
        Assert.True(estimate.Bounded);
        var unknown = Meter.EstimateFor(request, Dep("openai-compatible", "llama"), At);
        Assert.False(unknown.Priced);
        Assert.False(unknown.Bounded);
        Assert.Equal(0m, unknown.MaxCostUsd);
    }

    [Fact]
    public void Images_tools_and_schemas_count_toward_the_prompt()
    {
        var plain = Request("""{"model":"x","messages":[{"role":"user","content":"describe"}],"max_tokens":1}""");
        var image = Request("""{"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}],"max_tokens":1}""");
        var tools = Request("""{"model":"x","messages":[{"role":"user","content":"describe"}],"max_tokens":1,"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}""");
        var d = Dep("openai", "gpt-4o");
        var basePrompt = Meter.EstimateFor(plain, d, At).PromptTokens;
        Assert.Equal(basePrompt + 1445, Meter.EstimateFor(image, d, At).PromptTokens);
        Assert.True(Meter.EstimateFor(tools, d, At).PromptTokens > basePrompt + TokenCounter.ToolsOverhead);
        Assert.Equal(basePrompt + 48169, Meter.EstimateFor(image, Dep("openai", "gpt-4o-mini"), At).PromptTokens);
    }

    [Fact]
    public void Across_deployments_the_dearest_estimate_is_taken()
    {
        var request = Request("""{"model":"x","messages":[{"role":"user","content":"hi"}],"max_tokens":10}""");
        var cheap = Dep("openai", "gpt-4o-mini");
        var dear = Dep("openai", "o1");
        var estimate = Meter.Estimate(request, [cheap, dear], At);
        Assert.Equal(Meter.EstimateFor(request, dear, At).MaxCostUsd, estimate.MaxCostUsd);
    }

    [Fact]
    public void A_prompt_over_the_long_context_threshold_is_estimated_at_long_context_prices()
    {
        var text = string.Concat(Enumerable.Repeat("abc ", 160_000)); // 640,000 chars ≈ 213,334 approximate tokens
        var request = Request($$"""{"model":"x","messages":[{"role":"user","content":"{{text}}"}],"max_tokens":10}""");
        var estimate = Meter.EstimateFor(request, Dep("anthropic", "claude-sonnet-4-5"), At);
        Assert.True(estimate.PromptTokens > 200_000);
        Assert.Equal((estimate.PromptTokens * 12m + 10 * 22.5m) / 1_000_000m, estimate.MaxCostUsd);
    }
}
