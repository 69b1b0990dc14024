using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Gateway.Core.Safety;

/// <summary>What a detector found: where, and of which kind. The matched text itself is never kept beyond redaction.</summary>
public readonly record struct Finding(string Detector, int Start, int Length);

/// <summary>A local detector: finds spans of one kind in text. Pure and thread-safe.</summary>
public interface IDetector
{
    /// <summary>The detector's name, e.g. <c>email</c>, <c>card</c>, <c>secret.aws</c>; used in policies, headers and placeholders.</summary>
    string Name { get; }

    void Find(string text, List<Finding> findings);
}

/// <summary>
/// A regular expression candidate, confirmed by a check (a checksum, a range, entropy). With <paramref name="anchors"/>
/// (characters every match contains, such as <c>@</c> for an email) the pattern runs only in windows around their
/// occurrences — <paramref name="before"/> and <paramref name="after"/> characters, at least a match's longest reach —
/// so text without them costs one vectorized search instead of a pattern attempt at every letter.
/// </summary>
public sealed class PatternDetector(string name, Regex pattern, Func<string, Match, bool>? confirm = null, string group = "",
    string? anchors = null, int before = 0, int after = 0) : IDetector
{
    private readonly System.Buffers.SearchValues<char>? _anchors = anchors is null ? null : System.Buffers.SearchValues.Create(anchors);

    public string Name { get; } = name;

    public void Find(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        if (_anchors is null)
        {
            Collect(text, pattern.Match(text), findings, -1);
            return;
        }

        var from = 0;
        var lastEnd = -1;
        while (from < text.Length)
        {
            var hit = text.AsSpan(from).IndexOfAny(_anchors);
            if (hit < 0) break;
            hit += from;
            var start = Math.Max(0, hit - before);
            var end = Math.Min(text.Length, hit + after + 1);
            // windows that touch are merged: the last anchor inside this window extends it
            while (end < text.Length)
            {
                var inside = text.AsSpan(hit + 1, end - hit - 1).LastIndexOfAny(_anchors);
                if (inside < 0) break;
                var last = hit + 1 + inside;
                var extended = Math.Min(text.Length, last + after + 1);
                if (extended == end) break;
                hit = last;
                end = extended;
            }

            lastEnd = Collect(text, pattern.Match(text, start, end - start), findings, lastEnd);
            from = end;
        }
    }

    /// <summary>Adds the confirmed matches that start at or after <paramref name="lastEnd"/>; returns the end of the last one.</summary>
    private int Collect(string text, Match m, List<Finding> findings, int lastEnd)
    {
        for (; m.Success; m = m.NextMatch())
        {
            if (m.Index < lastEnd || (confirm is not null && !confirm(text, m))) continue;
            var g = group.Length == 0 ? m.Groups[0] : m.Groups[group];
            findings.Add(new Finding(Name, g.Index, g.Length));
            lastEnd = m.Index + m.Length;
        }

        return lastEnd;
    }
}

/// <summary>
/// A pattern that starts with one of a few keywords: the keywords are found with one vectorized, case-insensitive
/// search, and the pattern (anchored with <c>\G</c>) is tried only where one starts — a word keyword only at a word's
/// start, <c>##</c> only after nothing but spaces on its line — so prose costs a search, not a pattern attempt per letter.
/// </summary>
public sealed class KeywordDetector(string name, Regex anchoredPattern, IReadOnlyList<string> keywords, int reach = 400) : IDetector
{
    private readonly System.Buffers.SearchValues<string> _keywords = System.Buffers.SearchValues.Create([.. keywords], StringComparison.OrdinalIgnoreCase);

    public string Name { get; } = name;

    public void Find(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        var from = 0;
        while (from < text.Length)
        {
            var hit = text.AsSpan(from).IndexOfAny(_keywords);
            if (hit < 0) return;
            hit += from;
            from = hit + 1;
            if (!Starts(text, hit)) continue;
            var m = anchoredPattern.Match(text, hit, Math.Min(reach, text.Length - hit));
            if (!m.Success) continue;
            findings.Add(new Finding(Name, m.Index, m.Length));
            from = m.Index + m.Length;
        }
    }

    /// <summary>A word keyword starts a word; <c>##</c> has only spaces before it on its line; a token (<c>&lt;|</c>, <c>[INST]</c>) anywhere.</summary>
    private static bool Starts(string text, int at)
    {
        var c = text[at];
        if (char.IsLetter(c)) return at == 0 || !(char.IsLetterOrDigit(text[at - 1]) || text[at - 1] == '_');
        if (c != '#') return true;
        for (var i = at - 1; i >= 0 && text[i] != '\n'; i--)
        {
            if (!char.IsWhiteSpace(text[i])) return false;
        }

        return true;
    }
}

/// <summary>
/// The built-in local detectors. Each pairs a pattern with what keeps false positives down: checksums (Luhn for cards,
/// mod-97 for IBANs), ranges (SSN areas, IPv4 octets), context (a version number is not an address) and entropy (a
/// keyword followed by a random-looking value is a secret; <c>password=changeme</c> is not).
/// </summary>
public static partial class Detectors
{
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(250);

    // ---- PII ----

    [GeneratedRegex(@"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])", Options, 250)]
    private static partial Regex EmailPattern();

    // E.164 (+ and 7–15 digits, separators allowed) or a national form with a separator structure: (555) 123-4567,
    // 555-123-4567, 555.123.4567, 020 7946 0958
    [GeneratedRegex(@"(?<![\w+.-])(?:\+[1-9](?:[ .-]?\d){6,14}|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{2,4} \d{3,4} \d{3,4})(?![\w.-]*\d)", Options, 250)]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])", Options, 250)]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])", Options, 250)]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"(?<![\w-])(?<area>\d{3})([- ])(?<group>\d{2})\1(?<serial>\d{4})(?![\w-])", RegexOptions.CultureInvariant, 250)]
    private static partial Regex SsnPattern();

    [GeneratedRegex(@"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)", Options, 250)]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", Options, 250)]
    private static partial Regex Ipv6Pattern();

    // ---- secrets ----

    [GeneratedRegex(@"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}(?![\w-])", Options, 250)]
    private static partial Regex OpenAiKeyPattern();

    [GeneratedRegex(@"(?<![\w-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}(?![\w-])", Options, 250)]
    private static partial Regex AnthropicKeyPattern();

    [GeneratedRegex(@"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}(?![A-Z0-9])", Options, 250)]
    private static partial Regex AwsKeyPattern();

    [GeneratedRegex(@"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![\w])", Options, 250)]
    private static partial Regex GitHubTokenPattern();

    [GeneratedRegex(@"(?<![\w-])xox[abposr]-(?:\d+-)+[A-Za-z0-9]{10,}(?![\w-])|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}", Options, 250)]
    private static partial Regex SlackTokenPattern();

    [GeneratedRegex(@"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", Options, 250)]
    private static partial Regex GoogleKeyPattern();

    [GeneratedRegex(@"(?:AccountKey|SharedAccessKey)=(?<key>[A-Za-z0-9+/]{43,86}={0,2})|DefaultEndpointsProtocol=https?;[^\s""']*AccountKey=(?<key>[A-Za-z0-9+/]{86}==)", Options, 250)]
    private static partial Regex AzureStorageKeyPattern();

    [GeneratedRegex(@"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-])", Options, 250)]
    private static partial Regex JwtPattern();

    [GeneratedRegex(@"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)", Options, 250)]
    private static partial Regex PemPattern();

    [GeneratedRegex(@"(?i:(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|client[_-]?secret|private[_-]?key|credentials?))[""']?\s*[:=]\s*[""']?(?<value>[^\s""',;]{12,})", Options, 250)]
    private static partial Regex GenericSecretPattern();

    // ---- prompt injection (heuristics: phrases that try to replace the instructions or reach the system prompt) ----

    // Anchored at a keyword (\G): the detector finds the keywords with one vectorized search and tries the phrases only
    // there, instead of trying an alternation of phrases at every letter of the text.
    [GeneratedRegex(@"\G(?:(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|every\s+)*(?:previous|prior|above|earlier|preceding|original|system|developer)?\s*(?:instructions?|prompts?|rules|directives?|guidelines|guardrails|restrictions)\b"
        + @"|(?:reveal|print|show|repeat|output|leak|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|hidden\s+(?:instructions|prompt)|initial\s+instructions)\b"
        + @"|you\s+are\s+now\s+(?:DAN|in\s+developer\s+mode|an?\s+unrestricted|jailbroken|free\s+of)\b"
        + @"|(?:pretend|act\s+as\s+if)\s+(?:that\s+)?you\s+(?:have|had)\s+no\s+(?:rules|restrictions|guidelines|filters|limits)\b"
        + @"|<\|im_start\|>\s*system|\[/?INST\]|<\|(?:system|endoftext)\|>|#{2,}\s*(?:new\s+)?system\s+(?:prompt|instructions)\b)",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.ExplicitCapture, 250)]
    private static partial Regex InjectionAtPattern();

    /// <summary>The words (and tokens) every injection phrase starts with.</summary>
    private static readonly string[] InjectionKeywords =
        ["ignore", "disregard", "forget", "override", "bypass", "reveal", "print", "show", "repeat", "output", "leak", "tell", "you", "pretend", "act", "<|", "[INST]", "[/INST]", "##"];

    /// <summary>Every built-in detector by name.</summary>
    public static IReadOnlyDictionary<string, IDetector> All { get; } = new IDetector[]
    {
        new PatternDetector("email", EmailPattern(), anchors: "@", before: 64, after: 260),
        new PatternDetector("phone", PhonePattern(), (_, m) => DigitCount(m.Value) is >= 7 and <= 15),
        new PatternDetector("card", CardPattern(), (_, m) => IsCard(m.Value)),
        new PatternDetector("iban", IbanPattern(), (_, m) => IsIban(m.Value)),
        new PatternDetector("ssn", SsnPattern(), (_, m) => IsSsn(m)),
        new PatternDetector("ipv4", Ipv4Pattern(), IsIpv4),
        new PatternDetector("ipv6", Ipv6Pattern(), (_, m) => IsIpv6(m.Value), anchors: ":", before: 40, after: 40),
        new PatternDetector("secret.openai", OpenAiKeyPattern(), (_, m) => !m.Value.StartsWith("sk-ant-", StringComparison.Ordinal) && HasDigitAndLetter(m.Value[3..])),
        new PatternDetector("secret.anthropic", AnthropicKeyPattern()),
        new PatternDetector("secret.aws", AwsKeyPattern()),
        new PatternDetector("secret.github", GitHubTokenPattern()),
        new PatternDetector("secret.slack", SlackTokenPattern()),
        new PatternDetector("secret.google", GoogleKeyPattern()),
        new PatternDetector("secret.azure_storage", AzureStorageKeyPattern(), null, "key"),
        new PatternDetector("secret.jwt", JwtPattern(), (_, m) => IsJwt(m.Value)),
        new PatternDetector("secret.private_key", PemPattern()),
        new KeywordDetector("injection", InjectionAtPattern(), InjectionKeywords),
        new PatternDetector("secret.generic", GenericSecretPattern(), (_, m) => IsRandom(m.Groups["value"].Value), "value", anchors: "=:", before: 40, after: 400),
    }.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>The PII detectors' names.</summary>
    public static IReadOnlyList<string> Pii { get; } = ["email", "phone", "card", "iban", "ssn", "ipv4", "ipv6"];

    /// <summary>The secret detectors' names.</summary>
    public static IReadOnlyList<string> Secrets { get; } = [.. All.Keys.Where(k => k.StartsWith("secret.", StringComparison.Ordinal))];

    private static int DigitCount(string s) => s.Count(char.IsAsciiDigit);

    private static bool HasDigitAndLetter(string s) => s.Any(char.IsAsciiDigit) && s.Any(char.IsAsciiLetter);

    /// <summary>13–19 digits, a known issuer prefix, and a valid Luhn check digit.</summary>
    public static bool IsCard(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        Span<int> digits = stackalloc int[19];
        var n = 0;
        foreach (var c in candidate)
        {
            if (!char.IsAsciiDigit(c)) continue;
            if (n == 19) return false;
            digits[n++] = c - '0';
        }

        if (n < 13) return false;
        var prefix2 = (digits[0] * 10) + digits[1];
        var prefix4 = (prefix2 * 100) + (digits[2] * 10) + digits[3];
        var issuer = digits[0] == 4 // Visa
            || prefix2 is >= 51 and <= 55 || prefix4 is >= 2221 and <= 2720 // Mastercard
            || prefix2 is 34 or 37 // Amex
            || prefix4 == 6011 || prefix2 == 65 || prefix4 is >= 6440 and <= 6499 // Discover
            || prefix4 is >= 3528 and <= 3589 // JCB
            || prefix2 is 36 or 38 || prefix4 is >= 3000 and <= 3059 // Diners
            || prefix2 is 62 or 67 || prefix4 is 5018 or 5020 or 5038 or 6304 or 6759 or 6761 or 6762 or 6763; // UnionPay, Maestro
        if (!issuer) return false;
        var sum = 0;
        for (var i = 0; i < n; i++)
        {
            var d = digits[n - 1 - i];
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }

            sum += d;
        }

        return sum % 10 == 0;
    }

    private static readonly Dictionary<string, int> IbanLengths = new(StringComparer.Ordinal)
    {
        ["AD"] = 24, ["AE"] = 23, ["AL"] = 28, ["AT"] = 20, ["AZ"] = 28, ["BA"] = 20, ["BE"] = 16, ["BG"] = 22, ["BH"] = 22, ["BR"] = 29,
        ["BY"] = 28, ["CH"] = 21, ["CR"] = 22, ["CY"] = 28, ["CZ"] = 24, ["DE"] = 22, ["DK"] = 18, ["DO"] = 28, ["EE"] = 20, ["EG"] = 29,
        ["ES"] = 24, ["FI"] = 18, ["FO"] = 18, ["FR"] = 27, ["GB"] = 22, ["GE"] = 22, ["GI"] = 23, ["GL"] = 18, ["GR"] = 27, ["GT"] = 28,
        ["HR"] = 21, ["HU"] = 28, ["IE"] = 22, ["IL"] = 23, ["IQ"] = 23, ["IS"] = 26, ["IT"] = 27, ["JO"] = 30, ["KW"] = 30, ["KZ"] = 20,
        ["LB"] = 28, ["LC"] = 32, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20, ["LV"] = 21, ["MC"] = 27, ["MD"] = 24, ["ME"] = 22, ["MK"] = 19,
        ["MR"] = 27, ["MT"] = 31, ["MU"] = 30, ["NL"] = 18, ["NO"] = 15, ["PK"] = 24, ["PL"] = 28, ["PS"] = 29, ["PT"] = 25, ["QA"] = 29,
        ["RO"] = 24, ["RS"] = 22, ["SA"] = 24, ["SC"] = 31, ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["ST"] = 25, ["SV"] = 28,
        ["TL"] = 23, ["TN"] = 24, ["TR"] = 26, ["UA"] = 29, ["VA"] = 22, ["VG"] = 24, ["XK"] = 20,
    };

    /// <summary>A known country, that country's length, and the ISO 13616 mod-97 check (remainder 1).</summary>
    public static bool IsIban(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        Span<char> iban = stackalloc char[34];
        var n = 0;
        foreach (var c in candidate)
        {
            if (c == ' ') continue;
            if (n == 34) return false;
            iban[n++] = c;
        }

        if (n < 15 || !IbanLengths.TryGetValue(new string(iban[..2]), out var length) || length != n) return false;
        var remainder = 0;
        for (var i = 0; i < n; i++)
        {
            var c = iban[(i + 4) % n];
            if (char.IsAsciiDigit(c)) remainder = ((remainder * 10) + (c - '0')) % 97;
            else if (char.IsAsciiLetterUpper(c)) remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
            else return false;
        }

        return remainder == 1;
    }

    /// <summary>US SSN: area not 000, 666 or 900–999; group not 00; serial not 0000.</summary>
    private static bool IsSsn(Match m)
    {
        var area = int.Parse(m.Groups["area"].Value, CultureInfo.InvariantCulture);
        return area is not (0 or 666) && area < 900 && m.Groups["group"].Value != "00" && m.Groups["serial"].Value != "0000";
    }

    /// <summary>Four octets of 0–255 without leading zeros, not a version number (after "v", "version" or "build").</summary>
    private static bool IsIpv4(string text, Match m)
    {
        foreach (var part in m.Value.Split('.'))
        {
            if (part.Length > 1 && part[0] == '0') return false;
            if (int.Parse(part, CultureInfo.InvariantCulture) > 255) return false;
        }

        var before = text.AsSpan(0, m.Index).TrimEnd();
        if (before.EndsWith("v", StringComparison.OrdinalIgnoreCase)) return false;
        var word = before.Length > 12 ? before[^12..] : before;
        return !(word.EndsWith("version", StringComparison.OrdinalIgnoreCase) || word.EndsWith("build", StringComparison.OrdinalIgnoreCase)
            || word.EndsWith("release", StringComparison.OrdinalIgnoreCase) || word.EndsWith("OID", StringComparison.Ordinal));
    }

    /// <summary>A real IPv6 address (parsed), with at least three groups — not a time of day (12:30:45) or a MAC address.</summary>
    private static bool IsIpv6(string candidate)
    {
        if (candidate.Count(c => c == ':') < 2 || candidate.Length < 3) return false;
        if (!candidate.Contains("::", StringComparison.Ordinal) && candidate.Count(c => c == ':') != 7) return false;
        if (!candidate.Any(char.IsAsciiHexDigit) || candidate.All(c => c == ':' || char.IsAsciiDigit(c)) && candidate.Split(':').All(p => p.Length <= 2)) return false;
        return IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    /// <summary>A JWT: a header that is base64url JSON naming an algorithm.</summary>
    private static bool IsJwt(string candidate)
    {
        var header = candidate[..candidate.IndexOf('.', StringComparison.Ordinal)];
        try
        {
            var padded = header.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var json = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            return json.Contains("\"alg\"", StringComparison.Ordinal);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Shannon entropy of the characters, in bits per character.</summary>
    public static double Entropy(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0) return 0;
        var counts = new Dictionary<char, int>();
        foreach (var c in value) counts[c] = counts.GetValueOrDefault(c) + 1;
        return -counts.Values.Sum(n => (double)n / value.Length * Math.Log2((double)n / value.Length));
    }

    /// <summary>A value that looks generated: high entropy, several character classes, not a placeholder or a word run.</summary>
    private static bool IsRandom(string value)
    {
        if (value.Length < 12 || value.Contains("${", StringComparison.Ordinal) || value.Contains("{{", StringComparison.Ordinal) || value.StartsWith('<')) return false;
        var classes = (value.Any(char.IsAsciiLetterLower) ? 1 : 0) + (value.Any(char.IsAsciiLetterUpper) ? 1 : 0) + (value.Any(char.IsAsciiDigit) ? 1 : 0)
            + (value.Any(c => !char.IsAsciiLetterOrDigit(c)) ? 1 : 0);
        // a short random value cannot reach the entropy of a long one: the bar is 80 % of the most its length allows, at most 3.5 bits
        return classes >= 3 && Entropy(value) >= Math.Min(3.5, Math.Log2(value.Length) * 0.8);
    }
}
