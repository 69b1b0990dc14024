using System.Globalization;
using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Savings;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Savings;

/// <summary>
/// Synthetic usage over one week (Monday 2 to Sunday 8 November 2026, UTC) on a catalog of real list prices: a clean
/// background that deserves no recommendation, and workloads each planted with one opportunity. Records are priced as
/// the gateway prices them (the deployment's catalog price, overrides and discount), so spend and savings are real sums.
/// </summary>
internal static class SavingsWorkloads
{
    public static readonly DateTimeOffset From = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset To = From.AddDays(7);

    /// <summary>gpt-4o on OpenAI and (20 % cheaper) on Azure, gpt-4o-mini, gpt-4.1, Claude Sonnet 4.5.</summary>
    public static ModelCatalog Catalog { get; } = ModelCatalog.Create(new CatalogOptions
    {
        Deployments =
        [
            new DeploymentOptions { Name = "oai-4o", Provider = ProviderKind.OpenAi, Model = "gpt-4o", ApiKeySetting = "K" },
            new DeploymentOptions
            {
                Name = "aoai-4o", Provider = ProviderKind.AzureOpenAi, Model = "chat-4o", Endpoint = "https://example.openai.azure.com", ApiKeySetting = "K",
                ApiVersion = "2024-10-21", Pricing = new DeploymentPricingOptions { PriceAs = "gpt-4o", Discount = 0.2m },
            },
            new DeploymentOptions { Name = "oai-4o-mini", Provider = ProviderKind.OpenAi, Model = "gpt-4o-mini", ApiKeySetting = "K" },
            new DeploymentOptions { Name = "oai-41", Provider = ProviderKind.OpenAi, Model = "gpt-4.1", ApiKeySetting = "K" },
            new DeploymentOptions { Name = "claude", Provider = ProviderKind.Anthropic, Model = "claude-sonnet-4-5", ApiKeySetting = "K" },
        ],
        Models =
        [
            new ModelOptions { Name = "gpt-4o", Deployments = ["aoai-4o", "oai-4o"] },
            new ModelOptions { Name = "gpt-4o-mini", Deployments = ["oai-4o-mini"] },
            new ModelOptions { Name = "gpt-4.1", Deployments = ["oai-41"] },
            new ModelOptions { Name = "claude-sonnet", Deployments = ["claude"] },
        ],
    }, TestSecrets.Upstream, PriceCatalog.Default, From);

    public static SavingsEngine Engine(SavingsOptions? options = null) => new(PriceCatalog.Default, Catalog, options);

    /// <summary>One request as its record would be written: priced on its deployment, with a unique request hash unless one is given.</summary>
    public sealed class Builder
    {
        private int _next;
        public List<UsageRecord> Records { get; } = [];

        public UsageRecord Add(
            string deployment, DateTimeOffset at, string key, string? team, long prompt, long completion, int? maxTokens = null, int tools = 0,
            bool stream = false, string? requestHash = null, string? prefixHash = null, int? prefixTokens = null, long cached = 0,
            IReadOnlyDictionary<string, string>? tags = null, string cacheStatus = "bypass", string finish = "stop", string? model = null, bool shaped = true)
        {
            var d = Catalog.Models.SelectMany(m => m.Deployments).First(x => x.Name == deployment);
            var price = PricingCostMeter.PriceOf(PriceCatalog.Default, d, at)!;
            var usage = new Gateway.Core.Protocol.TokenUsage((int)prompt, (int)completion, (int)cached);
            var cost = CostCalculator.Compute(price.Prices, price.LongContext, usage, CostCalculator.Factor(d.Pricing, 0, price.BatchDiscount)).Total;
            var n = ++_next;
            var record = new UsageRecord
            {
                RequestId = "req_" + n.ToString("D6", CultureInfo.InvariantCulture),
                At = at,
                KeyId = "key_" + key,
                KeyName = key,
                Team = team,
                Tags = tags ?? new Dictionary<string, string>(),
                ModelRequested = model ?? Catalog.Models.First(m => m.Deployments.Contains(d)).Name,
                ModelServed = d.Pricing.PriceAs ?? d.Model,
                Provider = d.Provider.ToLowerInvariant(),
                Deployment = d.Name,
                PromptTokens = prompt,
                CompletionTokens = completion,
                CachedTokens = cached,
                CostUsd = cacheStatus is "hit" or "coalesced" ? 0m : cost,
                SavedUsd = cacheStatus is "hit" or "coalesced" ? cost : 0m,
                PriceKey = price.Key,
                Stream = stream,
                CacheStatus = cacheStatus,
                Outcome = UsageOutcomes.Success,
                Status = 200,
                Attempts = 1,
                RequestHash = shaped ? requestHash ?? Hash("request", n) : null,
                PrefixHash = shaped ? prefixHash : null,
                PrefixTokens = shaped ? prefixTokens : null,
                MaxTokens = shaped ? maxTokens : null,
                ToolsOffered = shaped ? tools : null,
                FinishReason = shaped ? finish : null,
            };
            Records.Add(record);
            return record;
        }
    }

    /// <summary>A stand-in SHA-256 (64 hex digits) for a named thing.</summary>
    public static string Hash(string what, int n) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(what + "#" + n.ToString(CultureInfo.InvariantCulture))));

    /// <summary>A weekday working hour (09:00-17:00 UTC, Monday to Friday) for the i-th of <paramref name="count"/> requests.</summary>
    public static DateTimeOffset Daytime(int i, int count)
    {
        var day = i * 5 / count;
        var minute = (int)((long)i * 5 * 8 * 60 / count % (8 * 60));
        return From.AddDays(day).AddHours(9).AddMinutes(minute).AddSeconds(i % 60);
    }

    /// <summary>
    /// The clean background: interactive chat on the cheapest model of its family (streamed, daytime, every question
    /// its own, a short system prompt, max_tokens just above the longest answers), plus a tool-using assistant on gpt-4.1.
    /// </summary>
    public static void Clean(Builder b, bool shaped = true)
    {
        const int Chats = 1500;
        for (var i = 0; i < Chats; i++)
        {
            b.Add("oai-4o-mini", Daytime(i, Chats), "web-app", "web", prompt: 400 + (i % 7 * 90), completion: 120 + (i % 13 * 20), maxTokens: 512, stream: true,
                prefixHash: Hash("web-system", 0), prefixTokens: 180, shaped: shaped);
        }

        const int Assists = 300;
        for (var i = 0; i < Assists; i++)
        {
            b.Add("oai-41", Daytime(i, Assists).AddMinutes(3), "assistant", "ops", prompt: 1800 + (i % 5 * 100), completion: 250 + (i % 9 * 30), maxTokens: 600, tools: 3,
                stream: true, prefixHash: Hash("ops-tools", i % 3), prefixTokens: 700, shaped: shaped);
        }
    }

    /// <summary>What the planted workload should yield: one recommendation per (kind, scope).</summary>
    public static readonly (RecommendationKind Kind, string Scope)[] Planted =
    [
        (RecommendationKind.CheaperModel, "model:gpt-4o"),
        (RecommendationKind.ResponseCache, "team:support"),
        (RecommendationKind.ResponseCache, "key:key_kiosk"),
        (RecommendationKind.BatchApi, "key:key_etl"),
        (RecommendationKind.BatchApi, "key:key_reports"),
        (RecommendationKind.PromptCaching, "deployment:claude"),
        (RecommendationKind.CheaperDeployment, "deployment:oai-4o"),
        (RecommendationKind.MaxTokens, "key:key_summarizer"),
    ];

    /// <summary>The clean background plus every planted opportunity (<see cref="Planted"/>).</summary>
    public static List<UsageRecord> PlantedWeek(bool shaped = true)
    {
        var b = new Builder();
        Clean(b, shaped);

        // cheaper model: FAQ answers on gpt-4o (already on its cheaper deployment) — short prompts, short answers, no tools
        const int Faq = 2000;
        for (var i = 0; i < Faq; i++)
            b.Add("aoai-4o", Daytime(i, Faq).AddMinutes(1), "faq-bot", "faq", prompt: 300 + (i % 10 * 20), completion: 60 + (i % 8 * 10), maxTokens: 200, stream: true, shaped: shaped);

        // response cache: 40 questions, each asked 10 times five minutes apart, on gpt-4.1 with tools (the cache is bypassed)
        for (var q = 0; q < 40; q++)
        {
            for (var k = 0; k < 10; k++)
            {
                b.Add("oai-41", Daytime(q, 40).AddMinutes(5 * k), "support-bot", "support", prompt: 1500, completion: 200 + (q % 5 * 25), maxTokens: 500, tools: 2,
                    requestHash: Hash("support-question", q), prefixHash: Hash("support-tools", 0), prefixTokens: 600, shaped: shaped);
            }
        }

        // response cache, a key without a team: the cache is on but each instance keeps its own entries (every repeat a miss)
        for (var q = 0; q < 30; q++)
        {
            for (var k = 0; k < 4; k++)
            {
                b.Add("oai-41", Daytime(q, 30).AddMinutes(2 + (10 * k)), "kiosk", null, prompt: 1200, completion: 180, maxTokens: 400, tools: 1,
                    requestHash: Hash("kiosk-question", q), cacheStatus: "miss", shaped: shaped);
            }
        }

        // batch: a nightly job tagged mode=batch, unstreamed, every request its own
        const int Etl = 500;
        var batchTag = new Dictionary<string, string> { ["mode"] = "batch", ["pipeline"] = "invoices" };
        for (var i = 0; i < Etl; i++)
        {
            b.Add("oai-41", From.AddDays(i % 7).AddHours(2).AddSeconds(i * 13), "etl", "data", prompt: 3000, completion: 600 + (i % 5 * 50), maxTokens: 1000,
                prefixHash: Hash("etl-system", 0), prefixTokens: 500, tags: batchTag, shaped: shaped);
        }

        // batch: an untagged key whose unstreamed requests all come at night or at the weekend
        const int Reports = 200;
        for (var i = 0; i < Reports; i++)
            b.Add("oai-41", From.AddDays(i % 7).AddHours(22).AddMinutes(i % 110), "reports", "finance", prompt: 2000, completion: 500 + (i % 4 * 25), maxTokens: 800, shaped: shaped);

        // prompt caching: an agent on Claude whose 4,000-token system prompt and tools open every request, a request every two minutes
        const int Agent = 600;
        for (var i = 0; i < Agent; i++)
        {
            var at = From.AddDays(i / 120).AddHours(9).AddMinutes(i % 120 * 2);
            b.Add("claude", at, "agent", "agents", prompt: 4500 + (i % 3 * 100), completion: 300 + (i % 4 * 30), maxTokens: 1024, tools: 5, stream: true,
                prefixHash: Hash("agent-prefix", 0), prefixTokens: 4000, shaped: shaped);
        }

        // cheaper deployment: gpt-4o served by OpenAI at list price while Azure serves it 20 % cheaper (long prompts: not for a smaller model)
        const int Legacy = 400;
        for (var i = 0; i < Legacy; i++)
            b.Add("oai-4o", Daytime(i, Legacy).AddMinutes(2), "legacy", "legacy", prompt: 2500, completion: 400 + (i % 5 * 20), maxTokens: 800, stream: true, shaped: shaped);

        // max_tokens: asks for 4,096 and never needs more than about 200
        const int Summaries = 300;
        for (var i = 0; i < Summaries; i++)
            b.Add("oai-4o-mini", Daytime(i, Summaries).AddMinutes(4), "summarizer", "docs", prompt: 900, completion: 100 + (i % 11 * 10), maxTokens: 4096, stream: true, shaped: shaped);

        return b.Records;
    }
}
