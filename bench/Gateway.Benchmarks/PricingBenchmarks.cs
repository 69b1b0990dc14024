using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;

namespace Gateway.Benchmarks;

/// <summary>What pricing adds to each request: the pre-call estimate (tokenizer + catalog) and the post-call cost.</summary>
[MemoryDiagnoser]
public class PricingBenchmarks
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2025-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly PricingCostMeter _meter = new(new PriceCatalogHolder(PriceCatalog.Default));
    private readonly DeploymentOptions _openAi = new() { Name = "oai", Provider = "openai", Model = "gpt-4o" };
    private readonly DeploymentOptions _azure = new()
    {
        Name = "aoai", Provider = "azure-openai", Model = "prod",
        Pricing = new DeploymentPricingOptions { PriceAs = "gpt-4.1", Discount = 0.1m, VolumeTiers = [new() { FromMonthlyTokens = 1_000_000, Discount = 0.2m }] },
    };
    private readonly DeploymentOptions _anthropic = new() { Name = "claude", Provider = "anthropic", Model = "claude-sonnet-4-5" };
    private ChatRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _request = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(
            """{"model":"gpt-4o","max_tokens":256,"messages":[{"role":"system","content":"You are a careful assistant for the finance team. Answer in two sentences."},{"role":"user","content":"Summarise the quarterly numbers: revenue grew 12% to 4.1M, costs were flat, and churn fell to 2.3%."}]}"""));
        _ = _meter.EstimateFor(_request, _openAi, At); // load the tokenizer once
    }

    [Benchmark(Baseline = true, Description = "cost: OpenAI, cached tokens")]
    public decimal CostOpenAi() => _meter.Cost(_openAi, new TokenUsage(1200, 300, 1024), At).CostUsd;

    [Benchmark(Description = "cost: Azure, override + volume tier")]
    public decimal CostAzure() => _meter.Cost(_azure, new TokenUsage(1200, 300, 1024, 0, 100), At).CostUsd;

    [Benchmark(Description = "cost: Anthropic, cache writes, long context")]
    public decimal CostAnthropic() => _meter.Cost(_anthropic, new TokenUsage(250_000, 900, 20_000, 30_000, 0, 10_000), At).CostUsd;

    [Benchmark(Description = "estimate: tiktoken o200k, 2 messages")]
    public decimal EstimateOpenAi() => _meter.EstimateFor(_request, _openAi, At).MaxCostUsd;

    [Benchmark(Description = "estimate: Anthropic approximation, 2 messages")]
    public decimal EstimateAnthropic() => _meter.EstimateFor(_request, _anthropic, At).MaxCostUsd;
}
