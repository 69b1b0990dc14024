using System.Globalization;

namespace Gateway.Core.Savings;

/// <summary>
/// The thresholds of the savings analysis (section <c>Gateway:Savings</c>). Every recommendation needs at least
/// <see cref="MinRequests"/> requests of evidence and, except <c>max_tokens</c> right-sizing (which frees reservations
/// but saves no money), an estimated saving of at least <see cref="MinMonthlySavingUsd"/> a month.
/// </summary>
public sealed class SavingsOptions
{
    /// <summary>The fewest requests a recommendation may rest on (the requests that would save, not all of the scope's).</summary>
    public int MinRequests { get; set; } = 20;

    /// <summary>Recommendations worth less a month than this are left out.</summary>
    public decimal MinMonthlySavingUsd { get; set; } = 1m;

    /// <summary>The longest range one analysis may read (it reads raw records).</summary>
    public int MaxRangeDays { get; set; } = 31;

    /// <summary>Cheaper model: a prompt of at most this many tokens is short.</summary>
    public int ShortPromptTokens { get; set; } = 1000;

    /// <summary>Cheaper model: an answer of at most this many tokens (and not cut off by its cap) is short.</summary>
    public int ShortCompletionTokens { get; set; } = 300;

    /// <summary>
    /// Cheaper model: the sibling to suggest for a model (catalog names, e.g. <c>gpt-4o</c> → <c>gpt-4o-mini</c>), over the
    /// rule by name (the next cheaper model of the same provider whose name differs only by a size word: mini, nano,
    /// haiku, sonnet, opus).
    /// </summary>
    public Dictionary<string, string> CheaperModels { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Response cache: an identical request this soon after the one answered upstream would have been a hit (the cache's default TTL).</summary>
    public double ResponseCacheTtlSeconds { get; set; } = 3600;

    /// <summary>Response cache: the smallest share of a scope's requests that must repeat.</summary>
    public double MinRepeatShare { get; set; } = 0.05;

    /// <summary>Batch API: the discount where the price catalog lists none for the provider.</summary>
    public decimal BatchDiscount { get; set; } = 0.5m;

    /// <summary>Batch API: providers that have one (comma-separated).</summary>
    public string BatchProviders { get; set; } = "openai,azure-openai,anthropic";

    /// <summary>
    /// Batch API: tags that mark a request as non-interactive (comma-separated): <c>name=value</c> matches that value,
    /// a bare <c>name</c> any value.
    /// </summary>
    public string NonInteractiveTags { get; set; } = "mode=batch,mode=offline,interactive=false,batch,job";

    /// <summary>Batch API: off-hours start at this hour (UTC, 0-23)…</summary>
    public int OffHoursStartUtc { get; set; } = 20;

    /// <summary>…and end at this hour (UTC, 0-23); Saturdays and Sundays are off-hours all day.</summary>
    public int OffHoursEndUtc { get; set; } = 6;

    /// <summary>Batch API: a key whose unstreamed requests come off-hours at least this often looks like a job, all of them candidates.</summary>
    public double MinOffHoursShare { get; set; } = 0.8;

    /// <summary>Prompt caching: the shortest prefix worth caching (providers cache from 1,024 tokens).</summary>
    public int MinPrefixTokens { get; set; } = 1024;

    /// <summary>Prompt caching: a prefix sent again this soon after its last use would be read from the provider's cache (5 minutes, extended by each use).</summary>
    public double PromptCacheTtlSeconds { get; set; } = 300;

    /// <summary>Cheaper deployment: the other deployment must cost at least this fraction less on the same traffic.</summary>
    public double MinCheaperFraction { get; set; } = 0.05;

    /// <summary>max_tokens: the usual cap must be at least this many times the 99th percentile of the answers.</summary>
    public double MaxTokensHeadroom { get; set; } = 4;

    /// <summary>max_tokens: the suggested cap is the 99th percentile times this, rounded up to a multiple of 64.</summary>
    public double SuggestedMaxTokensFactor { get; set; } = 1.5;

    /// <summary>max_tokens: answers cut off by the cap (finish reason <c>length</c>) may be at most this share.</summary>
    public double MaxLengthFinishShare { get; set; } = 0.01;

    internal IReadOnlyList<string> BatchProviderList => Split(BatchProviders);

    internal IReadOnlyList<string> NonInteractiveTagList => Split(NonInteractiveTags);

    private static string[] Split(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Every setting that is out of range, each naming itself (section <c>Gateway:Savings</c>).</summary>
    public IReadOnlyList<string> Validate()
    {
        const string Root = "Gateway:Savings";
        var errors = new List<string>();
        void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) errors.Add($"{Root}:{name} must be {rule} (was {Convert.ToString(value, CultureInfo.InvariantCulture)}).");
        }

        static bool Fraction(double x) => x is >= 0 and <= 1;
        static bool Positive(double x) => x > 0 && double.IsFinite(x);
        Check(MinRequests >= 1, nameof(MinRequests), MinRequests, "at least 1");
        Check(MinMonthlySavingUsd >= 0, nameof(MinMonthlySavingUsd), MinMonthlySavingUsd, "zero or more");
        Check(MaxRangeDays is >= 1 and <= 800, nameof(MaxRangeDays), MaxRangeDays, "from 1 to 800");
        Check(ShortPromptTokens >= 1, nameof(ShortPromptTokens), ShortPromptTokens, "at least 1");
        Check(ShortCompletionTokens >= 1, nameof(ShortCompletionTokens), ShortCompletionTokens, "at least 1");
        Check(Positive(ResponseCacheTtlSeconds), nameof(ResponseCacheTtlSeconds), ResponseCacheTtlSeconds, "above 0");
        Check(Fraction(MinRepeatShare), nameof(MinRepeatShare), MinRepeatShare, "from 0 to 1");
        Check(BatchDiscount is >= 0 and < 1, nameof(BatchDiscount), BatchDiscount, "at least 0 and below 1");
        Check(OffHoursStartUtc is >= 0 and <= 23, nameof(OffHoursStartUtc), OffHoursStartUtc, "an hour from 0 to 23");
        Check(OffHoursEndUtc is >= 0 and <= 23, nameof(OffHoursEndUtc), OffHoursEndUtc, "an hour from 0 to 23");
        Check(Fraction(MinOffHoursShare), nameof(MinOffHoursShare), MinOffHoursShare, "from 0 to 1");
        Check(MinPrefixTokens >= 1, nameof(MinPrefixTokens), MinPrefixTokens, "at least 1");
        Check(Positive(PromptCacheTtlSeconds), nameof(PromptCacheTtlSeconds), PromptCacheTtlSeconds, "above 0");
        Check(MinCheaperFraction is > 0 and < 1, nameof(MinCheaperFraction), MinCheaperFraction, "above 0 and below 1");
        Check(MaxTokensHeadroom > 1 && double.IsFinite(MaxTokensHeadroom), nameof(MaxTokensHeadroom), MaxTokensHeadroom, "above 1");
        Check(SuggestedMaxTokensFactor >= 1 && SuggestedMaxTokensFactor < MaxTokensHeadroom, nameof(SuggestedMaxTokensFactor), SuggestedMaxTokensFactor, $"at least 1 and below MaxTokensHeadroom ({MaxTokensHeadroom.ToString(CultureInfo.InvariantCulture)})");
        Check(Fraction(MaxLengthFinishShare), nameof(MaxLengthFinishShare), MaxLengthFinishShare, "from 0 to 1");
        foreach (var (model, cheaper) in CheaperModels)
        {
            if (string.IsNullOrWhiteSpace(cheaper) || string.Equals(model, cheaper, StringComparison.OrdinalIgnoreCase))
                errors.Add($"{Root}:CheaperModels:{model} must name another model (was '{cheaper}').");
        }

        return errors;
    }
}
