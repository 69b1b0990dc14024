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

    public static TokenizerKind KindOf(string provider, string? model)
    {
        if (provider == ProviderKind.Anthropic) return TokenizerKind.Approximate;
        var m = model?.ToLowerInvariant() ?? "";
        if (m.StartsWith("gpt-4o", StringComparison.Ordinal) || m.StartsWith("gpt-4.1", StringComparison.Ordinal)) return TokenizerKind.O200k;
        if (m.StartsWith("gpt-4", StringComparison.Ordinal) || m.StartsWith("gpt-3.5", StringComparison.Ordinal) || m.StartsWith("gpt-35", StringComparison.Ordinal))
            return TokenizerKind.Cl100k;
        return TokenizerKind.O200k;
    }

    public static int Count(TokenizerKind kind, string text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        return kind switch
        {
            TokenizerKind.O200k => s_o200k.Value.CountTokens(text),
            TokenizerKind.Cl100k => s_cl100k.Value.CountTokens(text),
            _ => Approximate(text),
        };
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
    public static int CountPrompt(ChatRequest request, TokenizerKind kind, int imageTokens)
    {
        long total = Priming;
        foreach (var message in request.Messages)
        {
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

        if (request.Body["tools"] is JsonArray tools) total += ToolsOverhead + Count(kind, tools.ToJsonString());
        if (request.Body["functions"] is JsonArray functions) total += ToolsOverhead + Count(kind, functions.ToJsonString());
        if (request.Body["response_format"]?["json_schema"] is JsonNode schema) total += ToolsOverhead + Count(kind, schema.ToJsonString());
        return (int)Math.Min(int.MaxValue, total);
    }
}
