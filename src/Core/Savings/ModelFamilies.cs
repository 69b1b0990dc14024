namespace Gateway.Core.Savings;

/// <summary>
/// Models of one family differ only by a size word: <c>gpt-4o</c> and <c>gpt-4o-mini</c>; <c>gpt-5</c>, <c>gpt-5-mini</c>
/// and <c>gpt-5-nano</c>; <c>o3</c> and <c>o3-mini</c>; <c>claude-opus-4-5</c>, <c>claude-sonnet-4-5</c> and
/// <c>claude-haiku-4-5</c>. A model's family key is its name without those words.
/// </summary>
internal static class ModelFamilies
{
    private static readonly HashSet<string> SizeWords = new(["mini", "nano", "haiku", "sonnet", "opus"], StringComparer.OrdinalIgnoreCase);

    public static string Key(string model) =>
        string.Join('-', model.ToLowerInvariant().Split('-').Where(part => !SizeWords.Contains(part)));
}
