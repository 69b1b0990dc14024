using System.Globalization;
using Gateway.Core.Savings;
using Gateway.Core.Usage;
using Xunit.Abstractions;
using static Gateway.Core.Tests.Savings.SavingsWorkloads;

namespace Gateway.Core.Tests.Savings;

/// <summary>The savings engine on synthetic weeks with planted opportunities (<see cref="SavingsWorkloads"/>).</summary>
public sealed class SavingsEngineTests(ITestOutputHelper output)
{
    private static readonly SavingsReport PlantedReport = Engine().Analyze(PlantedWeek(), From, To, To);

    private static string Scope(Recommendation r) => r.Scope.ToString();

    private static Recommendation Found(SavingsReport report, RecommendationKind kind, string scope) =>
        Assert.Single(report.Recommendations, r => r.Kind == kind && Scope(r) == scope);

    private static decimal SpendOf(IEnumerable<UsageRecord> records, string key) => records.Where(r => r.KeyId == "key_" + key).Sum(r => r.CostUsd);

    private static decimal Monthly(decimal observed) => Math.Round(observed * 30 / 7, 2, MidpointRounding.AwayFromZero);

    [Fact]
    public void Every_planted_opportunity_is_found_and_nothing_else()
    {
        foreach (var r in PlantedReport.Recommendations) output.WriteLine($"{r.Kind} {Scope(r)} ${r.EstimatedMonthlySavingUsd}/month {r.Confidence}: {r.Title}\n  {r.Evidence.Summary}");
        Assert.Equal(
            Planted.Select(p => $"{p.Kind} {p.Scope}").Order(StringComparer.Ordinal),
            PlantedReport.Recommendations.Select(r => $"{r.Kind} {Scope(r)}").Order(StringComparer.Ordinal));
        Assert.Equal(Enum.GetValues<RecommendationKind>().Order(), PlantedReport.Recommendations.Select(r => r.Kind).Distinct().Order());
    }

    [Fact]
    public void What_is_found_on_the_planted_week_is_at_least_a_fifth_of_its_spend()
    {
        var share = PlantedReport.TotalMonthlySavingUsd / PlantedReport.MonthlySpendUsd;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"spend {PlantedReport.SpendUsd:0.00} USD over 7 days ({PlantedReport.MonthlySpendUsd} a month); found {PlantedReport.TotalMonthlySavingUsd} a month = {share:P1}"));
        Assert.Equal(Monthly(PlantedReport.SpendUsd), PlantedReport.MonthlySpendUsd);
        Assert.Equal(PlantedReport.Recommendations.Sum(r => r.EstimatedMonthlySavingUsd), PlantedReport.TotalMonthlySavingUsd);
        Assert.True(share >= 0.20m, $"found {share:P1} of spend");
    }

    [Fact]
    public void Each_estimate_is_what_its_planted_workload_would_have_saved_scaled_to_thirty_days()
    {
        var records = PlantedWeek();

        // batch: the whole nightly job at OpenAI's 50 % batch discount; tagged, so high confidence
        var etl = Found(PlantedReport, RecommendationKind.BatchApi, "key:key_etl");
        Assert.Equal(Monthly(SpendOf(records, "etl") / 2), etl.EstimatedMonthlySavingUsd);
        Assert.Equal((500m, 500m, 0.5m), (etl.Evidence["candidate_requests"], etl.Evidence["tagged_requests"], etl.Evidence["batch_discount"]));
        Assert.Equal(SavingsConfidence.High, etl.Confidence);
        Assert.Contains("mode=batch", etl.Evidence.Summary, StringComparison.Ordinal);
        // untagged but always at night: a job, said with low confidence
        var reports = Found(PlantedReport, RecommendationKind.BatchApi, "key:key_reports");
        Assert.Equal(Monthly(SpendOf(records, "reports") / 2), reports.EstimatedMonthlySavingUsd);
        Assert.Equal(SavingsConfidence.Low, reports.Confidence);

        // response cache: 9 of each 10 identical questions, at what they cost
        var support = Found(PlantedReport, RecommendationKind.ResponseCache, "team:support");
        var supportRecords = records.Where(r => r.KeyId == "key_support-bot").GroupBy(r => r.RequestHash).SelectMany(g => g.OrderBy(r => r.At).Skip(1)).ToList();
        Assert.Equal(360, supportRecords.Count);
        Assert.Equal(Monthly(supportRecords.Sum(r => r.CostUsd)), support.EstimatedMonthlySavingUsd);
        Assert.Equal((400m, 360m, 40m, 0m), (support.Evidence["requests"], support.Evidence["repeated_requests"], support.Evidence["distinct_requests_repeated"], support.Evidence["repeats_that_missed_the_cache"]));
        var kiosk = Found(PlantedReport, RecommendationKind.ResponseCache, "key:key_kiosk");
        Assert.Equal(90m, kiosk.Evidence["repeats_that_missed_the_cache"]);
        Assert.Contains("shared backend", kiosk.Evidence.Summary, StringComparison.Ordinal);

        // cheaper deployment: Azure bills gpt-4o 20 % below OpenAI and already serves the model
        var legacy = Found(PlantedReport, RecommendationKind.CheaperDeployment, "deployment:oai-4o");
        Assert.Equal(Monthly(SpendOf(records, "legacy") * 0.2m), legacy.EstimatedMonthlySavingUsd);
        Assert.Equal(0.2m, legacy.Evidence["cheaper_fraction"]);
        Assert.Equal(SavingsConfidence.High, legacy.Confidence);
        Assert.Contains("'aoai-4o'", legacy.Title, StringComparison.Ordinal);

        // cheaper model: the FAQ traffic at gpt-4o-mini's prices, with the same 20 % discount it gets on Azure
        var faq = Found(PlantedReport, RecommendationKind.CheaperModel, "model:gpt-4o");
        Assert.Equal(2000m, faq.Evidence["fitting_requests"]);
        Assert.Equal(2400m, faq.Evidence["requests"]);
        var faqRecords = records.Where(r => r.KeyId == "key_faq-bot").ToList();
        var atMini = faqRecords.Sum(r => (r.PromptTokens * 0.15m + r.CompletionTokens * 0.60m) / 1_000_000m * 0.8m);
        Assert.Equal(Monthly(faqRecords.Sum(r => r.CostUsd) - atMini), faq.EstimatedMonthlySavingUsd);
        Assert.Equal(SavingsConfidence.Medium, faq.Confidence);
        Assert.Contains("'gpt-4o-mini'", faq.Title, StringComparison.Ordinal);

        // prompt caching: 595 of 600 requests find the prefix cached (each day's first writes it), net of Anthropic's write premium
        var agent = Found(PlantedReport, RecommendationKind.PromptCaching, "deployment:claude");
        Assert.Equal((595m, 1m), (agent.Evidence["cacheable_requests"], agent.Evidence["repeated_prefixes"]));
        var expected = 595 * 4000 * (3.00m - 0.30m) / 1_000_000m - 5 * 4000 * (3.75m - 3.00m) / 1_000_000m;
        Assert.Equal(Monthly(expected), agent.EstimatedMonthlySavingUsd);
        Assert.Contains("cache_control", agent.Evidence.Summary, StringComparison.Ordinal);

        // max_tokens: no money, and the evidence says what it frees instead
        var summarizer = Found(PlantedReport, RecommendationKind.MaxTokens, "key:key_summarizer");
        Assert.Equal(0m, summarizer.EstimatedMonthlySavingUsd);
        Assert.Equal((4096m, 200m, 320m), (summarizer.Evidence["median_max_tokens"], summarizer.Evidence["completion_tokens_p99"], summarizer.Evidence["suggested_max_tokens"]));
        Assert.Equal(Math.Round(300m * (4096 - 320) * 30 / 7, 0, MidpointRounding.AwayFromZero), summarizer.Evidence["reserved_tokens_freed_per_month"]);
        Assert.Contains("saves no money", summarizer.Evidence.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_clean_workload_gets_no_recommendation()
    {
        var b = new Builder();
        Clean(b);
        var report = Engine().Analyze(b.Records, From, To, To);
        Assert.Equal(1800, report.Requests);
        Assert.True(report.SpendUsd > 0m);
        Assert.Empty(report.Recommendations);
        Assert.Equal(0m, report.TotalMonthlySavingUsd);
    }

    [Fact]
    public async Task The_report_is_the_same_whatever_the_order_of_the_records_and_through_the_async_variant()
    {
        var records = PlantedWeek();
        var shuffled = records.OrderBy(r => Hash(r.RequestId, 7), StringComparer.Ordinal).ToList();
        var expected = PlantedReport.ToJson().ToJsonString();
        Assert.Equal(expected, Engine().Analyze(shuffled, From, To, To).ToJson().ToJsonString());
        Assert.Equal(expected, (await Engine().AnalyzeAsync(AsAsync(shuffled), From, To, To)).ToJson().ToJsonString());
        // largest saving first
        Assert.Equal(PlantedReport.Recommendations.Select(r => r.EstimatedMonthlySavingUsd).OrderDescending(), PlantedReport.Recommendations.Select(r => r.EstimatedMonthlySavingUsd));
    }

    [Fact]
    public async Task An_empty_range_is_an_empty_report()
    {
        var records = PlantedWeek();
        foreach (var report in new[]
        {
            Engine().Analyze(records, From, From, To),
            // a range that has not begun
            Engine().Analyze(records, To, To.AddDays(7), To),
            await Engine().AnalyzeAsync(AsAsync([]), From, To, To),
            Engine().Analyze([], From, To, To),
        })
        {
            Assert.Empty(report.Recommendations);
            Assert.Equal((0m, 0m, 0L), (report.SpendUsd, report.TotalMonthlySavingUsd, report.Requests));
        }
    }

    [Fact]
    public void Only_the_records_of_the_range_count_and_a_range_that_ends_later_is_scaled_over_what_was_observed()
    {
        var records = PlantedWeek();
        // the first three days only
        var cut = Engine().Analyze(records, From, From.AddDays(3), To);
        Assert.Equal(records.Where(r => r.At < From.AddDays(3)).Sum(r => r.CostUsd), cut.SpendUsd);
        // asked for a month, observed for the week: the same monthly figures as the week itself
        var month = Engine().Analyze(records, From, From.AddDays(30), To);
        Assert.Equal(7, month.ObservedDays);
        Assert.Equal(PlantedReport.TotalMonthlySavingUsd, month.TotalMonthlySavingUsd);
        Assert.Equal(PlantedReport.MonthlySpendUsd, month.MonthlySpendUsd);
    }

    [Fact]
    public void Records_written_before_the_request_shape_was_kept_count_only_where_nothing_more_is_needed()
    {
        var report = Engine().Analyze(PlantedWeek(shaped: false), From, To, To);
        // spend and the kinds that need only what every record has: batch and the cheaper deployment
        Assert.Equal(PlantedWeek().Sum(r => r.CostUsd), report.SpendUsd);
        Assert.Equal(
            ["BatchApi key:key_etl", "BatchApi key:key_reports", "CheaperDeployment deployment:oai-4o"],
            report.Recommendations.Select(r => $"{r.Kind} {Scope(r)}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Identical_requests_further_apart_than_the_cache_keeps_an_answer_are_no_cache_opportunity()
    {
        var b = new Builder();
        for (var q = 0; q < 30; q++)
        {
            for (var k = 0; k < 5; k++)
                b.Add("oai-41", From.AddDays(k).AddHours(10).AddMinutes(q), "support-bot", "support", prompt: 1500, completion: 200, maxTokens: 500, tools: 2, requestHash: Hash("q", q));
        }

        Assert.DoesNotContain(Engine().Analyze(b.Records, From, To, To).Recommendations, r => r.Kind == RecommendationKind.ResponseCache);
        // with answers kept for five days, the same requests are hits
        var daily = Engine(new SavingsOptions { ResponseCacheTtlSeconds = 86_400 * 5 }).Analyze(b.Records, From, To, To);
        Assert.Equal(120m, Assert.Single(daily.Recommendations, r => r.Kind == RecommendationKind.ResponseCache).Evidence["repeated_requests"]);
    }

    [Fact]
    public void A_prefix_the_provider_already_serves_from_its_cache_or_that_comes_back_too_late_is_no_opportunity()
    {
        var cached = new Builder();
        var late = new Builder();
        for (var i = 0; i < 200; i++)
        {
            cached.Add("claude", From.AddHours(9).AddMinutes(i), "agent", "agents", prompt: 4500, completion: 300, maxTokens: 1024, tools: 5, stream: true,
                prefixHash: Hash("p", 0), prefixTokens: 4000, cached: 4000);
            late.Add("claude", From.AddHours(9).AddMinutes(10 * i), "agent", "agents", prompt: 4500, completion: 300, maxTokens: 1024, tools: 5, stream: true,
                prefixHash: Hash("p", 0), prefixTokens: 4000);
        }

        Assert.Empty(Engine().Analyze(cached.Records, From, To, To).Recommendations);
        Assert.Empty(Engine().Analyze(late.Records, From, To, To).Recommendations);
    }

    [Fact]
    public void Max_tokens_is_left_alone_where_answers_are_cut_off_by_it()
    {
        var b = new Builder();
        for (var i = 0; i < 300; i++)
        {
            b.Add("oai-4o-mini", Daytime(i, 300), "summarizer", "docs", prompt: 900, completion: 150, maxTokens: 4096, stream: true,
                finish: i % 20 == 0 ? "length" : "stop");
        }

        Assert.Empty(Engine().Analyze(b.Records, From, To, To).Recommendations);
        Assert.Single(Engine(new SavingsOptions { MaxLengthFinishShare = 0.1 }).Analyze(b.Records, From, To, To).Recommendations);
    }

    [Fact]
    public void The_report_as_json_names_kinds_scopes_and_figures_in_snake_case()
    {
        var json = PlantedReport.ToJson();
        var first = json["recommendations"]!.AsArray()[0]!;
        Assert.Equal(SavingsReport.KindName(PlantedReport.Recommendations[0].Kind), (string?)first["kind"]);
        Assert.Equal(PlantedReport.Recommendations[0].EstimatedMonthlySavingUsd, (decimal)first["estimated_monthly_saving_usd"]!);
        Assert.NotNull(first["evidence"]!["figures"]!["observed_saving_usd"]);
        Assert.Equal("2026-11-02T00:00:00Z", (string?)json["from"]);
        Assert.Equal(["batch_api", "cheaper_deployment", "cheaper_model", "max_tokens", "prompt_caching", "response_cache"],
            json["recommendations"]!.AsArray().Select(r => (string)r!["kind"]!).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Settings_out_of_range_are_refused_each_by_name()
    {
        var bad = new SavingsOptions { MinRequests = 0, OffHoursStartUtc = 24, MaxTokensHeadroom = 1, CheaperModels = { ["gpt-4o"] = "gpt-4o" } };
        var errors = bad.Validate();
        Assert.Contains(errors, e => e.StartsWith("Gateway:Savings:MinRequests ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Savings:OffHoursStartUtc ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Savings:MaxTokensHeadroom ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Savings:CheaperModels:gpt-4o ", StringComparison.Ordinal));
        Assert.Empty(new SavingsOptions().Validate());
        var refused = Assert.Throws<ArgumentException>(() => Engine(bad));
        Assert.Contains("MinRequests", refused.Message, StringComparison.Ordinal);
    }

    private static async IAsyncEnumerable<UsageRecord> AsAsync(IEnumerable<UsageRecord> records)
    {
        foreach (var r in records)
        {
            await Task.Yield();
            yield return r;
        }
    }
}
