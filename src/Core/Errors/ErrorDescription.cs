using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Core.Errors;

/// <summary>
/// An exception as it may be logged: each exception in the chain as <c>Type: message</c>, outermost first, with what
/// could be a secret in a message — provider keys (<c>sk-…</c>), bearer tokens, <c>api-key</c>/<c>key</c>/<c>sig</c>
/// values, storage account keys — replaced by <c>***</c>. Stack traces are left out: they hold no data, and the type and
/// message say where to look.
/// </summary>
public static partial class ErrorDescription
{
    private const int MaxLength = 2000;

    public static string Of(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = new StringBuilder();
        for (Exception? e = exception; e is not null && text.Length < MaxLength; e = e.InnerException)
        {
            if (text.Length > 0) text.Append(" <- ");
            text.Append(e.GetType().Name).Append(": ").Append(Redact(e.Message));
        }

        return text.Length > MaxLength ? text.ToString(0, MaxLength) + "…" : text.ToString();
    }

    /// <summary>Replaces anything that looks like a credential with <c>***</c>.</summary>
    public static string Redact(string message) => Secrets().Replace(message ?? "", m => m.Groups["keep"].Value + "***");

    [GeneratedRegex(@"(?<keep>(?:api[-_]?key|key|sig|code|token|password|AccountKey|SharedAccessKey)\s*[=:]\s*)[^\s&;,""']+|(?<keep>Bearer\s+)\S+|(?<keep>)\b(?:sk|sk-ant|sk-gw|sk-proj)-[A-Za-z0-9_\-]{6,}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Secrets();
}
