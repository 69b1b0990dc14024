using System.Text.Json.Nodes;

namespace Gateway.Core.Savings;

/// <summary>
/// The savings found over a range: its spend, the recommendations (largest saving first) and their total. The total
/// adds recommendations that may overlap: it says how much is on the table, not what acting on all of them saves.
/// </summary>
public sealed record SavingsReport(DateTimeOffset From, DateTimeOffset To, decimal SpendUsd, IReadOnlyList<Recommendation> Recommendations, decimal TotalMonthlySavingUsd)
{
    /// <summary>The records analysed (every request in the range).</summary>
    public long Requests { get; init; }

    /// <summary>The days the range covers up to the time of the analysis (a range that ends later is cut there).</summary>
    public double ObservedDays { get; init; }

    /// <summary>The spend scaled to 30 days, as the savings are.</summary>
    public decimal MonthlySpendUsd { get; init; }

    /// <summary>A report with nothing in it (a range with no records, or none observed yet).</summary>
    public static SavingsReport Empty(DateTimeOffset from, DateTimeOffset to) => new(from, to, 0m, [], 0m);

    /// <summary>The report as the admin route answers it (snake_case; kinds, scopes and confidence as lower-case words).</summary>
    public JsonObject ToJson()
    {
        var recommendations = new JsonArray();
        foreach (var r in Recommendations)
        {
            var figures = new JsonObject();
            foreach (var f in r.Evidence.Figures) figures[f.Name] = f.Value;
            recommendations.Add(new JsonObject
            {
                ["kind"] = KindName(r.Kind),
                ["scope"] = new JsonObject { ["kind"] = r.Scope.Kind, ["value"] = r.Scope.Value },
                ["title"] = r.Title,
                ["evidence"] = new JsonObject { ["summary"] = r.Evidence.Summary, ["figures"] = figures },
                ["estimated_monthly_saving_usd"] = r.EstimatedMonthlySavingUsd,
                ["confidence"] = r.Confidence.ToString().ToLowerInvariant(),
            });
        }

        return new JsonObject
        {
            ["from"] = From.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["to"] = To.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["requests"] = Requests,
            ["observed_days"] = Math.Round(ObservedDays, 3),
            ["spend_usd"] = SpendUsd,
            ["monthly_spend_usd"] = MonthlySpendUsd,
            ["total_monthly_saving_usd"] = TotalMonthlySavingUsd,
            ["recommendations"] = recommendations,
        };
    }

    /// <summary>A kind as the API names it: <c>cheaper_model</c>, <c>response_cache</c>, <c>batch_api</c>, <c>prompt_caching</c>, <c>cheaper_deployment</c>, <c>max_tokens</c>.</summary>
    public static string KindName(RecommendationKind kind) => kind switch
    {
        RecommendationKind.CheaperModel => "cheaper_model",
        RecommendationKind.ResponseCache => "response_cache",
        RecommendationKind.BatchApi => "batch_api",
        RecommendationKind.PromptCaching => "prompt_caching",
        RecommendationKind.CheaperDeployment => "cheaper_deployment",
        RecommendationKind.MaxTokens => "max_tokens",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
