namespace Gateway.Core.Budgets;

/// <summary>What a budget is attached to.</summary>
public enum BudgetScopeKind
{
    Key,
    User,
    Team,
    Tag,
    Global,
}

/// <summary>
/// A budget scope: <c>key:…</c>, <c>user:…</c>, <c>team:…</c>, <c>tag:name=value</c> or <c>global</c>. Its
/// <see cref="ToString"/> form is the durable entity id and the name used in 429 <c>insufficient_quota</c> errors.
/// </summary>
public readonly record struct BudgetScope(BudgetScopeKind Kind, string Id)
{
    public static BudgetScope Global { get; } = new(BudgetScopeKind.Global, "");

    public static BudgetScope ForKey(string id) => new(BudgetScopeKind.Key, id);

    public static BudgetScope ForUser(string id) => new(BudgetScopeKind.User, id);

    public static BudgetScope ForTeam(string id) => new(BudgetScopeKind.Team, id);

    public static BudgetScope ForTag(string name, string value) => new(BudgetScopeKind.Tag, $"{name}={value}");

    public override string ToString() => Kind switch
    {
        BudgetScopeKind.Global => "global",
        BudgetScopeKind.Key => "key:" + Id,
        BudgetScopeKind.User => "user:" + Id,
        BudgetScopeKind.Team => "team:" + Id,
        _ => "tag:" + Id,
    };

    /// <summary>Parses the <see cref="ToString"/> form.</summary>
    public static BudgetScope Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "global") return Global;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1) throw new FormatException($"'{text}' is not a budget scope");
        var id = text[(colon + 1)..];
        return text[..colon] switch
        {
            "key" => ForKey(id),
            "user" => ForUser(id),
            "team" => ForTeam(id),
            "tag" when id.Contains('=', StringComparison.Ordinal) => new BudgetScope(BudgetScopeKind.Tag, id),
            _ => throw new FormatException($"'{text}' is not a budget scope"),
        };
    }

    /// <summary>Whether the scope is well formed (an id for every kind but global, none for global).</summary>
    public bool IsValid => Kind == BudgetScopeKind.Global
        ? string.IsNullOrEmpty(Id)
        : !string.IsNullOrWhiteSpace(Id) && (Kind != BudgetScopeKind.Tag || Id.Contains('=', StringComparison.Ordinal));
}
