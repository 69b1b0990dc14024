using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// Batch-API candidates, per key: unstreamed requests to a provider with a batch API (<see cref="SavingsOptions.BatchProviders"/>)
/// that are tagged non-interactive (<see cref="SavingsOptions.NonInteractiveTags"/>), or all of a key's unstreamed
/// requests when nearly all of them come off-hours (<see cref="SavingsOptions.MinOffHoursShare"/>: it looks like a job).
/// They would cost the provider's batch discount less (the price catalog's, else <see cref="SavingsOptions.BatchDiscount"/>).
/// Needs only what every record has. High confidence when every candidate was tagged, low when none was.
/// </summary>
internal sealed class BatchApiAnalyzer(RecordPricing pricing, SavingsOptions options) : ISavingsAnalyzer
{
    private sealed class Key
    {
        public string? Name;
        public long Unstreamed;
        public long Tagged;
        public long OffHours;
        public decimal UnstreamedSpend;
        public decimal TaggedSpend;
        public decimal UnstreamedSaving;
        public decimal TaggedSaving;
        /// <summary>The first few matching tags in ordinal order (the same whatever order the records come in).</summary>
        public readonly SortedSet<string> Tags = new(StringComparer.Ordinal);
        public bool MoreTags;
    }

    private const int TagsShown = 5;
    private readonly Dictionary<string, Key> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _providers = new(options.BatchProviderList, StringComparer.OrdinalIgnoreCase);
    private readonly IReadOnlyList<string> _tags = options.NonInteractiveTagList;

    public void Add(UsageRecord r)
    {
        if (r.Stream || !SavingsRecords.Billed(r) || r.Provider is null || !_providers.Contains(r.Provider)) return;
        // a deployment that already bills at the batch discount is where this traffic should be
        if (pricing.Deployment(r.Deployment)?.Pricing.Batch == true) return;
        if (!_keys.TryGetValue(r.KeyId, out var key)) _keys[r.KeyId] = key = new Key();
        key.Name = SavingsText.Name(key.Name, r.KeyName);
        var listed = pricing.ListedPrice(r)?.BatchDiscount ?? 0m;
        var saving = r.CostUsd * (listed > 0 ? listed : options.BatchDiscount);
        key.Unstreamed++;
        key.UnstreamedSpend += r.CostUsd;
        key.UnstreamedSaving += saving;
        if (OffHours(r.At)) key.OffHours++;
        if (MatchingTag(r) is not { } tag) return;
        key.Tagged++;
        key.TaggedSpend += r.CostUsd;
        key.TaggedSaving += saving;
        key.Tags.Add(tag);
        if (key.Tags.Count <= TagsShown) return;
        key.Tags.Remove(key.Tags.Max!);
        key.MoreTags = true;
    }

    private string? MatchingTag(UsageRecord r)
    {
        foreach (var rule in _tags)
        {
            var eq = rule.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                if (r.Tags.TryGetValue(rule, out var any)) return rule + "=" + any;
            }
            else if (r.Tags.TryGetValue(rule[..eq], out var value) && string.Equals(value, rule[(eq + 1)..], StringComparison.OrdinalIgnoreCase)) return rule;
        }

        return null;
    }

    /// <summary>Between <see cref="SavingsOptions.OffHoursStartUtc"/> and <see cref="SavingsOptions.OffHoursEndUtc"/> (UTC, across midnight when the start is later), or a weekend.</summary>
    private bool OffHours(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        if (utc.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) return true;
        var (start, end, hour) = (options.OffHoursStartUtc, options.OffHoursEndUtc, utc.Hour);
        return start > end ? hour >= start || hour < end : hour >= start && hour < end;
    }

    private static string Hour(int hour) => hour.ToString("00", System.Globalization.CultureInfo.InvariantCulture) + ":00";

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        foreach (var (id, k) in _keys)
        {
            var offHoursShare = (double)k.OffHours / k.Unstreamed;
            var asJob = offHoursShare >= options.MinOffHoursShare;
            var (candidates, spend, saving) = asJob ? (k.Unstreamed, k.UnstreamedSpend, k.UnstreamedSaving) : (k.Tagged, k.TaggedSpend, k.TaggedSaving);
            if (candidates < options.MinRequests || saving <= 0) continue;
            var who = SavingsText.Key(id, k.Name);
            var why = new List<string>(2);
            if (k.Tagged > 0)
                why.Add($"{SavingsText.Count(k.Tagged)} of its {SavingsText.Count(k.Unstreamed)} unstreamed requests were tagged non-interactive ({string.Join(", ", k.Tags)}{(k.MoreTags ? ", …" : "")})");
            if (asJob)
                why.Add((k.Tagged > 0 ? $"{SavingsText.Count(k.OffHours)}" : $"{SavingsText.Count(k.OffHours)} of its {SavingsText.Count(k.Unstreamed)} unstreamed requests") + $" ({SavingsText.Share(offHoursShare)}) came off-hours " +
                    $"({Hour(options.OffHoursStartUtc)}-{Hour(options.OffHoursEndUtc)} UTC or at weekends), as a job's do");
            var summary = $"{char.ToUpperInvariant(who[0])}{who[1..]}: {string.Join("; ", why)}. Sent through the provider's batch API (answers within 24 hours) these " +
                $"{SavingsText.Count(candidates)} requests would have cost {SavingsText.Share((double)(saving / spend))} less: {SavingsText.Usd(saving)} of {SavingsText.Usd(spend)}.";
            yield return new Recommendation(
                RecommendationKind.BatchApi,
                new RecommendationScope(RecommendationScope.Key, id),
                $"Send the non-interactive requests of {who} through the batch API",
                new FigureList()
                    .Add("unstreamed_requests", k.Unstreamed)
                    .Add("tagged_requests", k.Tagged)
                    .Add("off_hours_requests", k.OffHours)
                    .Add("candidate_requests", candidates)
                    .Add("candidate_spend_usd", SavingsText.Micro(spend))
                    .Add("batch_discount", Math.Round(saving / spend, 4))
                    .Add("observed_saving_usd", SavingsText.Micro(saving))
                    .With(summary),
                window.MonthlyUsd(saving),
                k.Tagged == candidates ? SavingsConfidence.High : k.Tagged > 0 ? SavingsConfidence.Medium : SavingsConfidence.Low);
        }
    }
}
