using System.Globalization;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Pricing;

/// <summary>Cost is additive and monotonic in every kind of token; the pre-call estimate bounds the bill.</summary>
public sealed class PricingPropertyTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2025-12-01T00:00:00Z", CultureInfo.InvariantCulture);

    /// <summary>Tokens by the kinds that are billed differently: each is an independent count.</summary>
    public sealed record Parts(int Plain, int CacheRead, int Write5m, int Write1h, int Output)
    {
        public TokenUsage Usage => new(Plain + CacheRead + Write5m + Write1h, Output, CacheRead, Write5m + Write1h, 0, Write1h);

        public static Parts operator +(Parts a, Parts b) =>
            new(a.Plain + b.Plain, a.CacheRead + b.CacheRead, a.Write5m + b.Write5m, a.Write1h + b.Write1h, a.Output + b.Output);
    }

    private static Parts PartsOf(int max, NonNegativeInt plain, NonNegativeInt read, NonNegativeInt w5, NonNegativeInt w1, NonNegativeInt output) =>
        new(plain.Get % (max + 1), read.Get % (max + 1), w5.Get % (max + 1), w1.Get % (max + 1), output.Get % (max + 1));

    /// <summary>Every priced model of every provider in the shipped catalog.</summary>
    private static readonly (string Provider, string Model)[] s_models = PriceCatalog.Default.Providers
        .SelectMany(p => ModelsOf(p).Select(m => (p, m))).ToArray();

    private static IEnumerable<string> ModelsOf(string provider) =>
        JsonNode.Parse(PriceCatalog.Default.Json)!["providers"]![provider]!["models"]!.AsObject().Select(kv => kv.Key);

    private static readonly decimal[] s_discounts = [0m, 0.1m, 0.33m];

    private static DeploymentOptions DeploymentOf(NonNegativeInt seed)
    {
        var (provider, model) = s_models[seed.Get % s_models.Length];
        return new DeploymentOptions
        {
            Name = provider + "/" + model,
            Provider = provider,
            Model = model,
            Pricing = new DeploymentPricingOptions { Discount = s_discounts[seed.Get / s_models.Length % s_discounts.Length] },
        };
    }

    private static decimal Cost(DeploymentOptions d, TokenUsage usage) =>
        new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default)).Cost(d, usage, At).CostUsd;

    [Property(MaxTest = 500)]
    public bool Cost_is_additive_within_a_price_tier(NonNegativeInt model,
        NonNegativeInt a1, NonNegativeInt a2, NonNegativeInt a3, NonNegativeInt a4, NonNegativeInt a5,
        NonNegativeInt b1, NonNegativeInt b2, NonNegativeInt b3, NonNegativeInt b4, NonNegativeInt b5)
    {
        // at most 180,000 prompt tokens in the sum: below every long-context threshold, so one price table applies
        var d = DeploymentOf(model);
        var a = PartsOf(45_000, a1, a2, a3, a4, a5);
        var b = PartsOf(45_000, b1, b2, b3, b4, b5);
        return Cost(d, (a + b).Usage) == Cost(d, a.Usage) + Cost(d, b.Usage);
    }

    [Property(MaxTest = 500)]
    public bool Cost_is_monotonic_in_every_token_count(NonNegativeInt model,
        NonNegativeInt p1, NonNegativeInt p2, NonNegativeInt p3, NonNegativeInt p4, NonNegativeInt p5, NonNegativeInt kind, PositiveInt more)
    {
        var d = DeploymentOf(model);
        var p = PartsOf(150_000, p1, p2, p3, p4, p5);
        var add = more.Get % 300_000;
        var bigger = (kind.Get % 5) switch
        {
            0 => p with { Plain = p.Plain + add },
            1 => p with { CacheRead = p.CacheRead + add },
            2 => p with { Write5m = p.Write5m + add },
            3 => p with { Write1h = p.Write1h + add },
            _ => p with { Output = p.Output + add },
        };
        // also across a long-context threshold: a tier's prices are never below the base prices
        return Cost(d, bigger.Usage) >= Cost(d, p.Usage);
    }

    [Property(MaxTest = 300)]
    public bool Zero_tokens_cost_nothing_and_any_token_costs_something_for_priced_models(NonNegativeInt model,
        NonNegativeInt p1, NonNegativeInt p2, NonNegativeInt p3, NonNegativeInt p4, NonNegativeInt p5)
    {
        var d = DeploymentOf(model);
        var p = PartsOf(10_000, p1, p2, p3, p4, p5);
        var cost = Cost(d, p.Usage);
        var tokens = p.Plain + p.CacheRead + p.Write5m + p.Write1h + p.Output;
        return tokens == 0 ? cost == 0m : cost > 0m;
    }

    private static readonly string[] s_words = ["hello", "world", "the", "gateway", "prices", "every", "token", "exactly", "🙂", "naïve", "数据", "JSON", "{\"a\":1}", "\n", "  "];

    private static ChatRequest Parse(List<(string Role, string Content)> messages, int maxTokens, int n)
    {
        var body = new JsonObject
        {
            ["model"] = "m",
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
            ["max_tokens"] = maxTokens,
            ["n"] = n,
        };
        return ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()));
    }

    /// <summary>
    /// OpenAI's documented count of a chat prompt: 3 tokens per message, the tokens of each field, 3 to prime the reply
    /// (computed here with the same tiktoken encoding, independently of the gateway's counter).
    /// </summary>
    private static int OpenAiBilledPrompt(List<(string Role, string Content)> messages, TokenizerKind kind) =>
        3 + messages.Sum(m => 3 + TokenCounter.Count(kind, m.Role) + TokenCounter.Count(kind, m.Content));

    [Property(MaxTest = 200)]
    public Property Estimate_is_never_below_the_bill_when_max_tokens_is_set(NonNegativeInt model, NonEmptyArray<NonNegativeInt> words,
        PositiveInt maxTokens, PositiveInt n, NonNegativeInt cachedPct, NonNegativeInt writePct, NonNegativeInt outPct)
    {
        var roles = new[] { "system", "user", "assistant" };
        var messages = words.Get.Chunk(3).Select((chunk, i) =>
            (roles[i % 3], string.Join(" ", chunk.Select(w => s_words[w.Get % s_words.Length])))).ToList();
        var max = maxTokens.Get % 4000 + 1;
        var choices = n.Get % 3 + 1;
        var d = DeploymentOf(model);
        var request = Parse(messages, max, choices);
        var meter = new PricingCostMeter(new PriceCatalogHolder(PriceCatalog.Default));
        var estimate = meter.Estimate(request, [d], At);
        var kind = TokenCounter.KindOf(d.Provider, d.Model);
        // what the provider bills: its prompt count (for models without a public tokenizer, the gateway's count),
        // any split into cache reads and writes, up to max_tokens per choice
        var prompt = kind == TokenizerKind.Approximate ? estimate.PromptTokens : OpenAiBilledPrompt(messages, kind);
        var cached = prompt * (cachedPct.Get % 101) / 100;
        var written = (prompt - cached) * (writePct.Get % 101) / 100;
        var usage = new TokenUsage(prompt, max * choices * (outPct.Get % 101) / 100, cached, written, 0, written / 2);
        var bill = meter.Cost(d, usage, At).CostUsd;
        return (estimate.Bounded && estimate.PromptTokens >= prompt && estimate.MaxCostUsd >= bill)
            .Label($"{d.Name}: estimate {estimate.MaxCostUsd} ({estimate.PromptTokens} prompt) vs bill {bill} ({prompt} prompt)");
    }
}
