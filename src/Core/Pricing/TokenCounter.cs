using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;
using Microsoft.ML.Tokenizers;

namespace Gateway.Core.Pricing;

/// <summary>Which tokenizer counts a model's tokens.</summary>
public enum TokenizerKind
{
    /// <summary>OpenAI's o200k_base (GPT-4o, GPT-4.1, GPT-5, o-series; also used for models of unknown family).</summary>
    O200k,
    /// <summary>OpenAI's cl100k_base (GPT-4, GPT-4 Turbo, GPT-3.5).</summary>
    Cl100k,
    /// <summary>No public tokenizer (Anthropic): an approximation meant to over-count (see <see cref="TokenCounter.Approximate"/>).</summary>
    Approximate,
}

/// <summary>
/// Counts tokens before a request is sent, with a real tokenizer where one exists (Microsoft.ML.Tokenizers' tiktoken
/// for OpenAI models) and a documented approximation where none does (Anthropic). Prompt counts add OpenAI's chat
/// framing (per-message and priming tokens, rounded up), tool definitions and tool calls as JSON text, and a configured
/// ceiling per image, so that the count is an upper bound of what the provider bills for OpenAI models.
/// </summary>
public static class TokenCounter
{
    /// <summary>Framing tokens per message (OpenAI uses 3, plus 1 for a name); counted generously.</summary>
    public const int PerMessage = 4;
    /// <summary>Tokens priming the assistant's reply.</summary>
    public const int Priming = 3;
    /// <summary>Framing around tool definitions.</summary>
    public const int ToolsOverhead = 12;

    private static readonly Lazy<Tokenizer> s_o200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> s_cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    /// <summary>The tokenizer a deployment's text is counted with (its provider, and the model it is priced as).</summary>
    public static TokenizerKind KindOf(DeploymentOptions deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return KindOf(deployment.Provider.ToLowerInvariant(), deployment.Pricing.PriceAs ?? deployment.Model);
    }

    public static TokenizerKind KindOf(string provider, string? model)
    {
        if (provider == ProviderKind.Anthropic) return TokenizerKind.Approximate;
        var m = model?.ToLowerInvariant() ?? "";
        if (m.StartsWith("gpt-4o", StringComparison.Ordinal) || m.StartsWith("gpt-4.1", StringComparison.Ordinal)) return TokenizerKind.O200k;
        if (m.StartsWith("gpt-4", StringComparison.Ordinal) || m.StartsWith("gpt-3.5", StringComparison.Ordinal) || m.StartsWith("gpt-35", StringComparison.Ordinal))
            return TokenizerKind.Cl100k;
        return TokenizerKind.O200k;
    }

    /// <summary>
    /// The longest run handed to the tokenizer at once. Byte-pair encoding of one pre-tokenized piece is quadratic in its
    /// length (16,000 letters without a space took 250 ms, 100,000 did not finish in ten minutes), so text is cut into
    /// segments of at most this many characters — at a space where one is near, else anywhere — and the segments are
    /// counted apart. Counting in segments never merges across a cut, so it can only count more, and it is linear:
    /// at most about 0.9 µs per character whatever the text (measured on random CJK, the worst found).
    /// </summary>
    public const int SegmentChars = 256;

    /// <summary>
    /// The cheap length bound: at most this many characters of a text are tokenized; the rest is counted as its UTF-8
    /// length (every token is at least one byte, so that is an upper bound, and it costs one pass). 1,048,576 characters
    /// is more than any prompt that fits a 200k-token context window.
    /// </summary>
    public const int MaxTokenizedChars = 1 << 20;

    public static int Count(TokenizerKind kind, string text) => Count(kind, text, MaxTokenizedChars);

    /// <summary>Counts <paramref name="text"/>, tokenizing at most <paramref name="budget"/> characters of it (the rest is bounded by its bytes).</summary>
    public static int Count(TokenizerKind kind, string text, int budget)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        if (kind == TokenizerKind.Approximate) return Approximate(text);
        var tokenizer = kind == TokenizerKind.Cl100k ? s_cl100k.Value : s_o200k.Value;
        var exact = Math.Min(text.Length, Math.Max(0, budget));
        if (exact < text.Length && exact > 0 && char.IsHighSurrogate(text[exact - 1])) exact--;
        long total = 0;
        var span = text.AsSpan(0, exact);
        while (!span.IsEmpty)
        {
            var length = SegmentLength(span);
            total += tokenizer.CountTokens(span[..length]);
            span = span[length..];
        }

        if (exact < text.Length) total += System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(exact));
        return (int)Math.Min(int.MaxValue, total);
    }

    /// <summary>
    /// How much of <paramref name="text"/> forms the next segment: all of it when short; else up to the last space that
    /// follows a non-space within <see cref="SegmentChars"/> (where the pre-tokenizer would start a new word anyway);
    /// else <see cref="SegmentChars"/> characters, never splitting a surrogate pair.
    /// </summary>
    internal static int SegmentLength(ReadOnlySpan<char> text)
    {
        if (text.Length <= SegmentChars) return text.Length;
        for (var i = SegmentChars; i > SegmentChars / 4; i--)
        {
            if (text[i] == ' ' && !char.IsWhiteSpace(text[i - 1])) return i;
        }

        return char.IsHighSurrogate(text[SegmentChars - 1]) ? SegmentChars - 1 : SegmentChars;
    }

    /// <summary>
    /// Where no tokenizer is published: one token per three ASCII characters (Claude averages about 3.5), and one per two
    /// UTF-8 bytes beyond ASCII (a CJK character counts 1.5, an emoji 2), rounded up. It over-counts ordinary text; it is
    /// an estimate, not a guarantee.
    /// </summary>
    public static int Approximate(string text)
    {
        long ascii = 0, otherBytes = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x80) ascii++;
            else if (char.IsHighSurrogate(c)) { otherBytes += 4; i++; }
            else otherBytes += c < 0x800 ? 2 : 3;
        }

        return (int)Math.Min(int.MaxValue, (ascii + 2) / 3 + (otherBytes + 1) / 2);
    }

    /// <summary>An upper bound of the prompt tokens of a request for OpenAI models (an estimate for others).</summary>
    public static int CountPrompt(ChatRequest request, TokenizerKind kind, int imageTokens) => CountPromptAndPrefix(request, kind, imageTokens).Prompt;

    /// <summary>
    /// The prompt's tokens (as <see cref="CountPrompt"/>) and, counted in the same pass, those of its shared prefix: the
    /// messages before the last user turn (<see cref="ChatRequest.PrefixMessageCount"/>) with their framing, and the tool
    /// and function definitions (the priming tokens and a response schema are not part of it).
    /// </summary>
    public static (int Prompt, int Prefix) CountPromptAndPrefix(ChatRequest request, TokenizerKind kind, int imageTokens)
    {
        ArgumentNullException.ThrowIfNull(request);
        // the cheap length bound is per request: all its texts together tokenize at most MaxTokenizedChars characters
        var budget = MaxTokenizedChars;
        int Count(TokenizerKind kind, string text)
        {
            var n = TokenCounter.Count(kind, text, budget);
            budget = Math.Max(0, budget - text.Length);
            return n;
        }

        long total = Priming;
        var prefixMessages = request.PrefixMessageCount;
        long prefix = 0;
        for (var i = 0; i < request.Messages.Count; i++)
        {
            if (i == prefixMessages) prefix = total - Priming;
            var message = request.Messages[i];
            total += PerMessage + Count(kind, message.Role);
            if (message.Node["name"] is JsonValue name) total += 1 + Count(kind, name.ToString());
            var content = message.Node["content"];
            if (content is JsonValue) total += Count(kind, MessageContent.TextOf(content));
            else if (content is JsonArray parts)
            {
                foreach (var part in parts)
                {
                    var type = (string?)part?["type"];
                    total += type switch
                    {
                        "text" => Count(kind, part?["text"] is JsonValue t && t.TryGetValue<string>(out var text) ? text : ""),
                        "image_url" or "image" => imageTokens,
                        _ => Count(kind, part?.ToJsonString() ?? ""),
                    };
                }
            }

            if (message.Node["tool_calls"] is JsonArray calls) total += Count(kind, calls.ToJsonString());
            if (message.Node["function_call"] is JsonObject call) total += Count(kind, call.ToJsonString());
            if (message.Node["tool_call_id"] is JsonValue id) total += Count(kind, id.ToString());
        }

        if (prefixMessages >= request.Messages.Count) prefix = total - Priming;
        long definitions = 0;
        if (request.Body["tools"] is JsonArray tools) definitions += ToolsOverhead + Count(kind, tools.ToJsonString());
        if (request.Body["functions"] is JsonArray functions) definitions += ToolsOverhead + Count(kind, functions.ToJsonString());
        total += definitions;
        prefix += definitions;
        if (request.Body["response_format"]?["json_schema"] is JsonNode schema) total += ToolsOverhead + Count(kind, schema.ToJsonString());
        return ((int)Math.Min(int.MaxValue, total), (int)Math.Min(int.MaxValue, prefix));
    }
}
