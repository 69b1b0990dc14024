namespace Gateway.Core.Savings;

/// <summary>What a recommendation proposes.</summary>
public enum RecommendationKind
{
    /// <summary>Send traffic that fits (short prompts and answers, no tools) to a cheaper model of the same family.</summary>
    CheaperModel,
    /// <summary>Let the response cache answer identical requests.</summary>
    ResponseCache,
    /// <summary>Send non-interactive traffic through the provider's batch API, at its discount.</summary>
    BatchApi,
    /// <summary>Have the provider cache long prefixes sent again and again, read at the cached-input price.</summary>
    PromptCaching,
    /// <summary>Serve the same model from a deployment or provider that costs less.</summary>
    CheaperDeployment,
    /// <summary>Lower a <c>max_tokens</c> far above what the answers use: reservations freed, not money.</summary>
    MaxTokens,
}

/// <summary>How sure the analysis is that acting on a recommendation saves what it says.</summary>
public enum SavingsConfidence
{
    Low,
    Medium,
    High,
}

/// <summary>What a recommendation is about: <c>model</c>, <c>team</c>, <c>key</c> or <c>deployment</c>, and which one.</summary>
public sealed record RecommendationScope(string Kind, string Value)
{
    public const string Model = "model";
    public const string Team = "team";
    public const string Key = "key";
    public const string Deployment = "deployment";

    public override string ToString() => Kind + ":" + Value;
}

/// <summary>One number of the evidence, e.g. <c>repeated_requests</c> = 318.</summary>
public sealed record SavingsFigure(string Name, decimal Value);

/// <summary>The evidence: the numbers the estimate rests on, in a fixed order, and a sentence saying what they show.</summary>
public sealed record SavingsEvidence(string Summary, IReadOnlyList<SavingsFigure> Figures)
{
    /// <summary>The figure of that name (a recommendation's figures are each named once).</summary>
    public decimal this[string name] => Figures.First(f => f.Name == name).Value;
}

/// <summary>
/// One way to spend less. <see cref="EstimatedMonthlySavingUsd"/> is the saving observed over the analysed range scaled
/// to 30 days (0 for <see cref="RecommendationKind.MaxTokens"/>, which frees reservations, not money). Recommendations
/// may overlap (the same requests may be cheaper by several of them), so their savings do not simply add up.
/// </summary>
public sealed record Recommendation(
    RecommendationKind Kind, RecommendationScope Scope, string Title, SavingsEvidence Evidence, decimal EstimatedMonthlySavingUsd, SavingsConfidence Confidence);
