namespace Gateway.Core.Usage;

/// <summary>
/// What reports can group by. Every record counts once under <c>all</c> and once under each dimension it has a value
/// for; a record with tags counts under each of its tags (so tag totals may add up to more than <c>all</c>).
/// </summary>
public static class UsageDimensions
{
    public const string All = "all";
    public const string Key = "key";
    public const string User = "user";
    public const string Team = "team";
    public const string Model = "model";
    public const string ServedModel = "served_model";
    public const string Provider = "provider";
    public const string Deployment = "deployment";
    public const string Tag = "tag";

    public static readonly IReadOnlyList<string> Names = [All, Key, User, Team, Model, ServedModel, Provider, Deployment, Tag];

    /// <summary>Placeholder for a missing value (no user, no team).</summary>
    public const string None = "(none)";

    public static IEnumerable<(string Dimension, string Value)> Of(UsageRecord r)
    {
        yield return (All, "*");
        yield return (Key, r.KeyId);
        yield return (User, r.User ?? None);
        yield return (Team, r.Team ?? None);
        yield return (Model, r.ModelRequested ?? None);
        yield return (ServedModel, r.ModelServed ?? None);
        yield return (Provider, r.Provider ?? None);
        yield return (Deployment, r.Deployment ?? None);
        foreach (var (k, v) in r.Tags) yield return (Tag, k + "=" + v);
    }

    /// <summary>Sums records by (dimension, value).</summary>
    public static Dictionary<(string Dimension, string Value), UsageAggregate> Aggregate(IEnumerable<UsageRecord> records)
    {
        var result = new Dictionary<(string, string), UsageAggregate>();
        foreach (var r in records)
        {
            foreach (var key in Of(r))
            {
                if (!result.TryGetValue(key, out var agg)) result[key] = agg = new UsageAggregate();
                agg.Add(r);
            }
        }

        return result;
    }
}
