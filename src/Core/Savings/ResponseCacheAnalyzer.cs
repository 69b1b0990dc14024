using System.Globalization;
using System.Runtime.InteropServices;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// Response-cache opportunities: requests identical (same <see cref="UsageRecord.RequestHash"/>) to one of the same cache
/// scope — the team, else the key, as the cache shares entries — answered upstream less than
/// <see cref="SavingsOptions.ResponseCacheTtlSeconds"/> before, and answered upstream again. Each would have been a hit, at
/// no cost. Requests the cache already answered are not counted again. Needs the request hash: older records are left out.
/// Memory grows with the distinct requests of the range (about 100 bytes each: the first 128 bits of the hash, the first
/// occurrence inline, a list only for requests that repeat).
/// </summary>
internal sealed class ResponseCacheAnalyzer(SavingsOptions options) : ISavingsAnalyzer
{
    private sealed class Scope(string kind, string value)
    {
        public string Kind { get; } = kind;
        public string Value { get; } = value;
        public string? KeyName;
        public long Requests;
        public long AlreadyCached;
    }

    private readonly record struct Occurrence(long Ticks, decimal Cost, bool ReachedCache);

    /// <summary>A request's occurrences: the first inline, the rest (when it repeats) in a list.</summary>
    private struct Occurrences
    {
        public Occurrence First;
        public List<Occurrence>? More;
    }

    private readonly Dictionary<(string Kind, string Value), int> _scopeIds = [];
    private readonly List<Scope> _scopes = [];
    private readonly Dictionary<(int Scope, UInt128 Hash), Occurrences> _requests = [];

    public void Add(UsageRecord r)
    {
        if (r.RequestHash is not { Length: >= 32 } hash || r.Outcome != UsageOutcomes.Success) return;
        if (!UInt128.TryParse(hash.AsSpan(0, 32), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var key)) return;
        var (kind, value) = r.Team is { } team ? (RecommendationScope.Team, team) : (RecommendationScope.Key, r.KeyId);
        if (!_scopeIds.TryGetValue((kind, value), out var id))
        {
            _scopeIds[(kind, value)] = id = _scopes.Count;
            _scopes.Add(new Scope(kind, value));
        }

        var scope = _scopes[id];
        scope.KeyName = SavingsText.Name(scope.KeyName, r.KeyName);
        scope.Requests++;
        if (SavingsRecords.ServedFromCache(r))
        {
            scope.AlreadyCached++;
            return;
        }

        if (r.CostUsd <= 0) return;
        var occurrence = new Occurrence(r.At.UtcTicks, r.CostUsd, r.CacheStatus == "miss");
        ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(_requests, (id, key), out var exists);
        if (!exists) seen.First = occurrence;
        else (seen.More ??= []).Add(occurrence);
    }

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        var ttl = TimeSpan.FromSeconds(options.ResponseCacheTtlSeconds).Ticks;
        var found = new Dictionary<int, (long Repeats, decimal Cost, long Distinct, long ReachedCache)>();
        foreach (var ((id, _), seen) in _requests)
        {
            if (seen.More is null) continue;
            var list = new List<Occurrence>(seen.More.Count + 1) { seen.First };
            list.AddRange(seen.More);
            // in time order, ties broken by value, so that the same records give the same figures in any order
            list.Sort(static (a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : a.Cost != b.Cost ? a.Cost.CompareTo(b.Cost) : a.ReachedCache.CompareTo(b.ReachedCache));
            // an entry lives from the answer that created it for the TTL; the next identical request after that creates another
            long? created = null;
            long repeats = 0, reached = 0;
            decimal cost = 0m;
            foreach (var o in list)
            {
                if (created is { } c && o.Ticks - c < ttl)
                {
                    repeats++;
                    cost += o.Cost;
                    if (o.ReachedCache) reached++;
                }
                else created = o.Ticks;
            }

            if (repeats == 0) continue;
            var sum = found.GetValueOrDefault(id);
            found[id] = (sum.Repeats + repeats, sum.Cost + cost, sum.Distinct + 1, sum.ReachedCache + reached);
        }

        foreach (var (id, f) in found)
        {
            var scope = _scopes[id];
            var (kind, value) = (scope.Kind, scope.Value);
            var share = (double)f.Repeats / scope.Requests;
            if (f.Repeats < options.MinRequests || share < options.MinRepeatShare) continue;
            var who = kind == RecommendationScope.Team ? $"team '{value}'" : SavingsText.Key(value, scope.KeyName);
            var summary = $"{SavingsText.Count(f.Repeats)} of the {SavingsText.Count(scope.Requests)} requests of {who} ({SavingsText.Share(share)}) repeated one of " +
                $"{SavingsText.Count(f.Distinct)} requests answered upstream less than {SavingsText.Duration(options.ResponseCacheTtlSeconds)} before, word for word, and cost " +
                $"{SavingsText.Usd(f.Cost)}; the response cache would have answered them at no cost. It caches requests with temperature 0, and others sent with " +
                "x-gateway-cache: on (where the same answer to the same question is what the caller wants).";
            if (f.ReachedCache > 0)
                summary += $" {SavingsText.Count(f.ReachedCache)} of them did reach the cache and missed: with the memory backend each instance keeps its own entries; " +
                    "a shared backend (Gateway:Cache:Backend storage or redis) answers them from any instance.";
            yield return new Recommendation(
                RecommendationKind.ResponseCache,
                new RecommendationScope(kind, value),
                $"Answer the repeated requests of {who} from the response cache",
                new FigureList()
                    .Add("requests", scope.Requests)
                    .Add("repeated_requests", f.Repeats)
                    .Add("repeat_share", SavingsText.Ratio(share))
                    .Add("distinct_requests_repeated", f.Distinct)
                    .Add("repeats_that_missed_the_cache", f.ReachedCache)
                    .Add("already_cached_requests", scope.AlreadyCached)
                    .Add("observed_saving_usd", SavingsText.Micro(f.Cost))
                    .With(summary),
                window.MonthlyUsd(f.Cost),
                SavingsConfidence.Medium);
        }
    }
}
