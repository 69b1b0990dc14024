using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Resilience;

/// <summary>
/// How a stream that broke after its first byte is continued: the request that asks the model for the rest of its
/// answer, by the deployment's <see cref="DeploymentOptions.Continuation"/> mode, and the <see cref="Splicer"/> that
/// joins the rest to what the client already has without a character lost or repeated.
/// </summary>
public static class StreamContinuation
{
    /// <summary>The partial answer as the last assistant message, which the model continues (Anthropic's prefill).</summary>
    public const string Prefill = "prefill";
    /// <summary>vLLM's (and other OpenAI-compatible servers') <c>continue_final_message</c>: the last assistant message is continued as is.</summary>
    public const string ContinueFinalMessage = "continue_final_message";
    /// <summary>Mistral's <c>prefix: true</c> on the last assistant message.</summary>
    public const string Prefix = "prefix";
    /// <summary>The partial answer, then an instruction to go on; whatever the model repeats of the partial answer is removed.</summary>
    public const string Instructed = "instructed";
    /// <summary>Never continued on this deployment.</summary>
    public const string None = "none";

    public static IReadOnlyList<string> Modes { get; } = [Prefill, ContinueFinalMessage, Prefix, Instructed, None];

    /// <summary>What the model is told in <see cref="Instructed"/> mode.</summary>
    public const string Instruction = "Your previous answer was cut off. Continue it exactly where it stopped: do not repeat any of it and add no preamble.";

    /// <summary>The most characters of a repeated tail looked for (and so held back at a continuation's start) in <see cref="Instructed"/> mode.</summary>
    public const int MaxOverlap = 400;

    /// <summary>
    /// The fewest repeated characters taken for a repeat: a continuation may well start with the few characters the
    /// answer ended with ("sup" + "port"), and losing text is worse than a short stutter.
    /// </summary>
    public const int MinOverlap = 8;

    /// <summary>The deployment's mode: as configured, else by provider (Anthropic and the mock prefill; the rest are instructed).</summary>
    public static string ModeOf(DeploymentOptions deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (deployment.Continuation is { } mode) return mode;
        return deployment.Provider.ToLowerInvariant() is ProviderKind.Anthropic or "mock" ? Prefill : Instructed;
    }

    /// <summary>Why a request's stream can never be continued (null when it can): a continuation rebuilds one choice's text, nothing else.</summary>
    public static string? Unrecoverable(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.N > 1) return "n > 1";
        if (request.Logprobs) return "logprobs";
        return null;
    }

    /// <summary>
    /// The request for the rest of the answer: the original with <paramref name="delivered"/> as the last assistant
    /// message (and, instructed, a user message asking to go on), its output cap reduced by what was already produced.
    /// With nothing delivered it is the original request again.
    /// </summary>
    public static ChatRequest Build(ChatRequest original, string delivered, string mode, int deliveredTokens)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(delivered);
        if (delivered.Length == 0) return original;
        var body = original.CloneBody();
        var messages = body["messages"] as JsonArray ?? [];
        var added = new List<ChatMessage>(2);
        // a prefill may not end in whitespace (Anthropic refuses it): the splicer takes it off the continuation again
        var assistant = new JsonObject { ["role"] = "assistant", ["content"] = mode == Prefill ? delivered.TrimEnd() : delivered };
        if (mode == Prefix) assistant["prefix"] = true;
        messages.Add(assistant);
        added.Add(new ChatMessage("assistant", assistant));
        if (mode == Instructed)
        {
            var instruction = new JsonObject { ["role"] = "user", ["content"] = Instruction };
            messages.Add(instruction);
            added.Add(new ChatMessage("user", instruction));
        }

        if (mode == ContinueFinalMessage)
        {
            body["continue_final_message"] = true;
            body["add_generation_prompt"] = false;
        }

        int? left = null;
        if (original.MaxOutputTokens is { } max)
        {
            left = Math.Max(1, max - deliveredTokens);
            if (body.ContainsKey("max_completion_tokens")) body["max_completion_tokens"] = left;
            if (body.ContainsKey("max_tokens")) body["max_tokens"] = left;
        }

        return original.Continued(body, [.. original.Messages, .. added], left);
    }

    /// <summary>
    /// Joins a continuation to the text the client already has: takes off the whitespace a prefill left out (which the
    /// model writes again), or — instructed — the longest tail of the delivered text the continuation starts by repeating
    /// (<see cref="MinOverlap"/> to <see cref="MaxOverlap"/> characters; the continuation's start is held until that is decided).
    /// </summary>
    public sealed class Splicer
    {
        private readonly string _tail;
        private readonly bool _instructed;
        private int _whitespaceLeft;
        private StringBuilder? _held;

        public Splicer(string delivered, string mode)
        {
            ArgumentNullException.ThrowIfNull(delivered);
            _instructed = mode == Instructed && delivered.Length > 0;
            _tail = delivered.Length > MaxOverlap ? delivered[^MaxOverlap..] : delivered;
            _whitespaceLeft = mode == Prefill ? delivered.Length - delivered.TrimEnd().Length : 0;
            if (_instructed) _held = new StringBuilder();
        }

        /// <summary>What of <paramref name="piece"/> (the continuation's next text) may go to the client now.</summary>
        public string Take(string piece)
        {
            ArgumentNullException.ThrowIfNull(piece);
            if (_whitespaceLeft > 0)
            {
                var skip = 0;
                while (skip < piece.Length && skip < _whitespaceLeft && char.IsWhiteSpace(piece[skip])) skip++;
                _whitespaceLeft = skip == piece.Length ? _whitespaceLeft - skip : 0;
                piece = piece[skip..];
            }

            if (_held is null) return piece;
            _held.Append(piece);
            var held = _held.ToString();
            // a tail start j is still possible while the held text and the tail from j agree as far as both go
            var undecided = false;
            var overlap = 0;
            for (var j = 0; j <= _tail.Length - MinOverlap; j++)
            {
                var suffix = _tail.AsSpan(j);
                if (held.AsSpan().StartsWith(suffix, StringComparison.Ordinal))
                {
                    overlap = Math.Max(overlap, suffix.Length);
                }
                else if (suffix.StartsWith(held, StringComparison.Ordinal))
                {
                    undecided = true;
                }
            }

            if (undecided && held.Length < MaxOverlap) return "";
            _held = null;
            return held[overlap..];
        }

        /// <summary>At the continuation's end: whatever is still held (the stream ended while it could still have been a repeat).</summary>
        public string Flush()
        {
            if (_held is null) return "";
            var held = _held.ToString();
            _held = null;
            return _tail.EndsWith(held, StringComparison.Ordinal) ? "" : held;
        }
    }
}
