using System.Text;

namespace Gateway.Core.Safety;

/// <summary>
/// Puts a request's redacted values back into text of the answer: each placeholder made from the request
/// (<c>&lt;EMAIL_1&gt;</c>) becomes the value it replaced. Text may arrive in pieces (a stream): a piece that ends inside
/// what could still become a placeholder keeps that tail until the next piece (or the end) decides it, so a placeholder
/// split across chunks is restored too.
/// </summary>
public sealed class PlaceholderRestorer
{
    private readonly Dictionary<string, string> _values;
    private readonly int _longest;
    private readonly StringBuilder _pending = new();

    /// <param name="placeholders">The request's placeholders, value → placeholder (as <see cref="SafetyScanner.Redact"/> fills them).</param>
    public PlaceholderRestorer(IReadOnlyDictionary<string, string> placeholders)
    {
        ArgumentNullException.ThrowIfNull(placeholders);
        _values = placeholders.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
        _longest = _values.Count == 0 ? 0 : _values.Keys.Max(k => k.Length);
    }

    /// <summary>True while a tail is kept for the next piece.</summary>
    public bool HasPending => _pending.Length > 0;

    /// <summary>True when there is nothing to restore.</summary>
    public bool Empty => _values.Count == 0;

    /// <summary>The whole text restored.</summary>
    public string Restore(string text) => Push(text, final: true);

    /// <summary>The next piece restored, less a tail that may be the start of a placeholder (kept for the next piece unless <paramref name="final"/>).</summary>
    public string Push(string piece, bool final)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (Empty) return piece;
        _pending.Append(piece);
        var text = _pending.ToString();
        _pending.Clear();
        var output = new StringBuilder(text.Length);
        var at = 0;
        while (at < text.Length)
        {
            var open = text.IndexOf('<', at);
            if (open < 0) break;
            var close = text.IndexOf('>', open + 1, Math.Min(text.Length - open - 1, _longest - 1));
            if (close < 0)
            {
                // no '>' within a placeholder's length: either the text ends first (maybe a split placeholder) or it is not one
                if (!final && text.Length - open < _longest)
                {
                    output.Append(text, at, open - at);
                    _pending.Append(text, open, text.Length - open);
                    return output.ToString();
                }

                output.Append(text, at, open + 1 - at);
                at = open + 1;
                continue;
            }

            var candidate = text.Substring(open, close - open + 1);
            output.Append(text, at, open - at);
            if (_values.TryGetValue(candidate, out var value))
            {
                output.Append(value);
                at = close + 1;
            }
            else
            {
                output.Append('<');
                at = open + 1;
            }
        }

        output.Append(text, at, text.Length - at);
        return output.ToString();
    }
}
