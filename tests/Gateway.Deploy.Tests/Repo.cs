using System.Text.RegularExpressions;

namespace Gateway.Deploy.Tests;

/// <summary>Files of the repository the tests read (docs, Bicep, the Functions' routes).</summary>
public static partial class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Serverless.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The code blocks of a Markdown file in the given language (```bash, ```kusto), lines joined across a trailing backslash.</summary>
    public static IEnumerable<string> Blocks(string markdown, string language)
    {
        foreach (Match m in FenceRegex().Matches(markdown))
            if (m.Groups[1].Value == language) yield return m.Groups[2].Value.Replace("\\\n", " ", StringComparison.Ordinal);
    }

    /// <summary>Every HTTP route template of the app ([Function] triggers' Route = "…").</summary>
    public static IReadOnlyList<string> Routes() =>
        Directory.EnumerateFiles(Path.Combine(Root, "src", "Functions"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => RouteRegex().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).Distinct().ToList();

    /// <summary>Every function name ([Function("…")]).</summary>
    public static IReadOnlySet<string> FunctionNames() =>
        Directory.EnumerateFiles(Path.Combine(Root, "src", "Functions"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => FunctionRegex().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();

    /// <summary>Whether <paramref name="path"/> (no leading slash, no query) matches a route template.</summary>
    public static bool MatchesRoute(string path, string template)
    {
        var parts = path.Split('/');
        var pattern = template.Split('/');
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i].StartsWith("{*", StringComparison.Ordinal)) return true;
            if (i >= parts.Length) return false;
            if (pattern[i].StartsWith('{')) continue;
            if (!string.Equals(pattern[i], parts[i], StringComparison.Ordinal)) return false;
        }

        return parts.Length == pattern.Length;
    }

    /// <summary>Splits a shell command line into words: double and single quotes, $VARS expanded from <paramref name="variables"/>.</summary>
    public static List<string> Words(string line, IReadOnlyDictionary<string, string> variables)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(current.ToString());
                current.Clear();
                inWord = false;
                continue;
            }

            inWord = true;
            if (c == '\'')
            {
                var end = line.IndexOf('\'', i + 1);
                current.Append(line, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                var end = line.IndexOf('"', i + 1);
                current.Append(Expand(line[(i + 1)..end], variables));
                i = end;
            }
            else
            {
                var end = i;
                while (end < line.Length && !char.IsWhiteSpace(line[end]) && line[end] is not ('"' or '\'')) end++;
                current.Append(Expand(line[i..end], variables));
                i = end - 1;
            }
        }

        if (inWord) words.Add(current.ToString());
        return words;
    }

    private static string Expand(string text, IReadOnlyDictionary<string, string> variables) =>
        VariableRegex().Replace(text, m => variables.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);

    [GeneratedRegex(@"```(\w+)\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FenceRegex();

    [GeneratedRegex(@"Route = ""([^""]+)""")]
    private static partial Regex RouteRegex();

    [GeneratedRegex(@"\[Function\(""([^""]+)""\)\]")]
    private static partial Regex FunctionRegex();

    [GeneratedRegex(@"\$([A-Z_]+)")]
    private static partial Regex VariableRegex();
}
