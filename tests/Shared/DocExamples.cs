using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gateway.Docs;

/// <summary>
/// The examples in <c>docs/*.md</c>, as the docs tests find and run them. THE CONVENTION (docs/README.md says the same):
/// <list type="bullet">
/// <item>Only fenced blocks whose info string is exactly <c>http</c> are examples; every other block (<c>bash</c>,
/// <c>json</c>, <c>mermaid</c>…) is left alone.</item>
/// <item>An <c>http</c> block whose first line is <c>METHOD /path[?query] [HTTP/1.1]</c> is a request: header lines, a
/// blank line, then the body. The next <c>http</c> block of the same file must be its answer, starting
/// <c>HTTP/1.1 STATUS [reason]</c>: header lines (each must be present; the value is a pattern), a blank line, then the
/// expected body.</item>
/// <item>Patterns: <c>…</c> (U+2026) in a string or header value matches any text; a JSON string that is only <c>"…"</c>
/// matches any value. An expected object lists the properties that must be there (others may be); an expected array
/// lists elements that must be found in that order (others may come between or after); <c>[]</c> means empty. Numbers,
/// booleans and null must be equal. An answer that is not <c>application/json</c> (SSE, CSV, JSON Lines, HTML, PEM) is matched line by line (surrounding spaces ignored): each
/// expected line must be found, in order, among the answer's lines.</item>
/// <item>An answer whose status line ends <c>(eventually, within N s)</c> shows what a GET answers once the app's
/// queues and timers have done their work: the request is sent again, once a second, until the answer matches or N
/// seconds have passed (only for GET).</item>
/// <item>Variables: <c>{{name}}</c> in a request is replaced by its value; in an answer, <c>"{{name}}"</c> (a whole JSON
/// string or header value) captures the value there when the name is new, and must equal it otherwise. Each file starts
/// with <c>adminKey</c> (the admin key), <c>key</c> (a fresh gateway key of team <c>docs</c>, user <c>docs-user</c>,
/// every model allowed) and <c>keyId</c> (its id). A file's examples run in order and share its variables.</item>
/// <item>Every answer is also checked against docs/openapi.yaml: its status must be documented for the operation, and a
/// JSON body must follow that response's schema.</item>
/// </list>
/// </summary>
public static partial class DocExamples
{
    public sealed record Request(string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, string Body, int Line);

    /// <param name="Within">Set when the status line says <c>(eventually, within N s)</c>: the request is repeated until the answer matches.</param>
    public sealed record Response(int Status, IReadOnlyList<(string Name, string Value)> Headers, string Body, int Line, TimeSpan? Within = null);

    public sealed record Example(string File, Request Request, Response Response)
    {
        public override string ToString() => $"{File}:{Request.Line} {Request.Method} {Request.Target}";
    }

    /// <summary>The markdown files of docs/ (other helpers' pages included: the convention is for all of them).</summary>
    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(OpenApiSpec.DocsDirectory, "*.md").Order(StringComparer.Ordinal);

    /// <summary>The request/answer pairs of one markdown file, in order; a request without an answer (or the other way round) is an error.</summary>
    public static List<Example> Parse(string path)
    {
        var name = Path.GetFileName(path);
        var examples = new List<Example>();
        Request? pending = null;
        foreach (var (text, line) in HttpBlocks(File.ReadAllText(path)))
        {
            var first = text.Split('\n')[0].Trim();
            if (first.StartsWith("HTTP/", StringComparison.Ordinal))
            {
                if (pending is null) throw new FormatException($"{name}:{line}: an answer with no request before it");
                examples.Add(new Example(name, pending, ParseResponse(text, line, name)));
                pending = null;
            }
            else
            {
                if (pending is not null) throw new FormatException($"{name}:{pending.Line}: a request with no answer after it");
                pending = ParseRequest(text, line, name);
            }
        }

        if (pending is not null) throw new FormatException($"{name}:{pending.Line}: a request with no answer after it");
        return examples;
    }

    private static IEnumerable<(string Text, int Line)> HttpBlocks(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = FenceOpen().Match(lines[i]);
            if (!fence.Success) continue;
            var marker = fence.Groups["fence"].Value;
            var info = fence.Groups["info"].Value.Trim();
            var start = i + 1;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith(marker, StringComparison.Ordinal); i++) body.Add(lines[i]);
            if (info == "http") yield return (string.Join('\n', body), start + 1);
        }
    }

    [GeneratedRegex(@"^\s{0,3}(?<fence>```+|~~~+)(?<info>.*)$")]
    private static partial Regex FenceOpen();

    private static (List<(string, string)> Headers, string Body) HeadersAndBody(string[] lines, int from, string where)
    {
        var headers = new List<(string, string)>();
        var i = from;
        for (; i < lines.Length && lines[i].Trim().Length > 0; i++)
        {
            var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw new FormatException($"{where}: '{lines[i]}' is not a header line (name: value); leave a blank line before the body");
            headers.Add((lines[i][..colon].Trim(), lines[i][(colon + 1)..].Trim()));
        }

        return (headers, string.Join('\n', lines.Skip(i + 1)).Trim());
    }

    private static Request ParseRequest(string text, int line, string file)
    {
        var lines = text.Split('\n');
        var parts = lines[0].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 2 or > 3 || !parts[1].StartsWith('/') || parts[0].Any(char.IsLower))
            throw new FormatException($"{file}:{line}: a request starts 'METHOD /path [HTTP/1.1]', not '{lines[0]}'");
        var (headers, body) = HeadersAndBody(lines, 1, $"{file}:{line}");
        return new Request(parts[0], parts[1], headers, body, line);
    }

    private static Response ParseResponse(string text, int line, string file)
    {
        var lines = text.Split('\n');
        var parts = lines[0].Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !int.TryParse(parts[1], out var status)) throw new FormatException($"{file}:{line}: an answer starts 'HTTP/1.1 STATUS', not '{lines[0]}'");
        var (headers, body) = HeadersAndBody(lines, 1, $"{file}:{line}");
        var eventually = Eventually().Match(lines[0]);
        return new Response(status, headers, body, line, eventually.Success ? TimeSpan.FromSeconds(int.Parse(eventually.Groups["s"].Value, System.Globalization.CultureInfo.InvariantCulture)) : null);
    }

    /// <summary>Replaces each <c>{{name}}</c> with its value; a name with no value is an error.</summary>
    public static string Substitute(string text, IReadOnlyDictionary<string, string> variables, string where) =>
        Variable().Replace(text, m => variables.TryGetValue(m.Groups["name"].Value, out var v)
            ? v
            : throw new FormatException($"{where}: the variable {{{{{m.Groups["name"].Value}}}}} has no value here (bound: {string.Join(", ", variables.Keys)})"));

    [GeneratedRegex(@"\{\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"\(eventually, within (?<s>[0-9]+) s\)")]
    private static partial Regex Eventually();

    [GeneratedRegex(@"^\{\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}\}$")]
    private static partial Regex WholeVariable();

    /// <summary>Whether <paramref name="actual"/> matches the pattern text <paramref name="expected"/> ("…" is any text).</summary>
    public static bool TextMatches(string expected, string actual)
    {
        var pattern = "^" + string.Join(".*", expected.Split('…').Select(Regex.Escape)) + "$";
        return Regex.IsMatch(actual, pattern, RegexOptions.Singleline, TimeSpan.FromSeconds(1));
    }

    /// <summary>Compares one header pattern, capturing a whole <c>{{name}}</c>.</summary>
    public static string? MatchHeader(string name, string expected, string? actual, Dictionary<string, string> variables)
    {
        if (actual is null) return $"the header {name} is missing";
        var whole = WholeVariable().Match(expected);
        if (whole.Success)
        {
            var variable = whole.Groups["name"].Value;
            if (!variables.TryGetValue(variable, out var bound)) { variables[variable] = actual; return null; }
            expected = bound;
        }
        else if (Variable().IsMatch(expected)) expected = Substitute(expected, variables, name);

        return TextMatches(expected, actual) ? null : $"the header {name} is '{actual}', not '{expected}'";
    }

    /// <summary>Compares an answer's body with the expected one (see the convention above); the differences, each with its path.</summary>
    public static List<string> MatchBody(string expected, string actual, Dictionary<string, string> variables, string? mediaType = "application/json")
    {
        var errors = new List<string>();
        if (expected.Length == 0) return errors;
        if (mediaType is not null && (mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal)))
        {
            JsonNode? want;
            JsonNode? got;
            try { want = JsonNode.Parse(expected); }
            catch (JsonException ex) { errors.Add($"the expected body is not JSON: {ex.Message}"); return errors; }
            try { got = JsonNode.Parse(actual); }
            catch (JsonException) { errors.Add($"the answer is not JSON: {Cut(actual)}"); return errors; }
            MatchJson(want, got, "$", variables, errors);
            return errors;
        }

        var lines = actual.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var at = 0;
        foreach (var line in expected.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0))
        {
            while (at < lines.Length && !TextMatches(line.Trim(), lines[at].Trim())) at++;
            if (at == lines.Length) { errors.Add($"no line matching '{line}' (in order) in the answer: {Cut(actual)}"); return errors; }
            at++;
        }

        return errors;
    }

    private static string Cut(string s) => s.Length > 600 ? s[..600] + "…" : s;

    private static void MatchJson(JsonNode? want, JsonNode? got, string path, Dictionary<string, string> variables, List<string> errors)
    {
        if (want is JsonValue w && w.GetValueKind() == JsonValueKind.String)
        {
            var pattern = (string)w!;
            if (pattern == "…") return;
            var whole = WholeVariable().Match(pattern);
            var actualText = got is JsonValue g && g.GetValueKind() == JsonValueKind.String ? (string)g! : got?.ToJsonString() ?? "null";
            if (whole.Success)
            {
                var name = whole.Groups["name"].Value;
                if (!variables.TryGetValue(name, out var bound)) { variables[name] = actualText; return; }
                if (bound != actualText) errors.Add($"{path}: '{actualText}', not {{{{{name}}}}} = '{bound}'");
                return;
            }

            if (Variable().IsMatch(pattern))
            {
                try { pattern = Substitute(pattern, variables, path); }
                catch (FormatException ex) { errors.Add(ex.Message); return; }
            }

            if (got is not JsonValue gv || gv.GetValueKind() != JsonValueKind.String) errors.Add($"{path}: {got?.ToJsonString() ?? "null"}, not a string like \"{pattern}\"");
            else if (!TextMatches(pattern, actualText)) errors.Add($"{path}: \"{actualText}\", not \"{pattern}\"");
            return;
        }

        switch (want)
        {
            case JsonObject wo:
                if (got is not JsonObject go) { errors.Add($"{path}: {got?.ToJsonString() ?? "null"}, not an object"); return; }
                foreach (var (name, child) in wo)
                {
                    if (!go.ContainsKey(name)) errors.Add($"{path}: no property '{name}' (has {string.Join(", ", go.Select(p => p.Key))})");
                    else MatchJson(child, go[name], $"{path}.{name}", variables, errors);
                }

                return;
            case JsonArray wa:
                if (got is not JsonArray ga) { errors.Add($"{path}: {got?.ToJsonString() ?? "null"}, not an array"); return; }
                if (wa.Count == 0 && ga.Count > 0) { errors.Add($"{path}: {ga.Count} elements, not none"); return; }
                var from = 0;
                for (var i = 0; i < wa.Count; i++)
                {
                    var found = false;
                    for (; from < ga.Count && !found; from++)
                    {
                        var trial = new Dictionary<string, string>(variables);
                        var trialErrors = new List<string>();
                        MatchJson(wa[i], ga[from], $"{path}[{from}]", trial, trialErrors);
                        if (trialErrors.Count != 0) continue;
                        found = true;
                        foreach (var (k, v) in trial) variables[k] = v;
                    }

                    if (!found) { errors.Add($"{path}: no element (in order) matching {wa[i]!.ToJsonString()} in {Cut(ga.ToJsonString())}"); return; }
                }

                return;
            default:
                if (!JsonNode.DeepEquals(want, got)) errors.Add($"{path}: {got?.ToJsonString() ?? "null"}, not {want?.ToJsonString() ?? "null"}");
                return;
        }
    }

    /// <summary>The request's body as bytes to send (its text, with variables already substituted).</summary>
    public static byte[] BodyBytes(string body) => Encoding.UTF8.GetBytes(body);
}
