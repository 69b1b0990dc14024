using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Safety;

/// <summary>
/// Applies a safety policy inside a stream with a sliding window. Each choice's text — and each of its tool calls'
/// arguments, through a window of its own — is held back by
/// <see cref="HoldbackChars"/> characters: what is released has been scanned with everything before it and the held-back
/// text after it, so a finding of up to <see cref="HoldbackChars"/> characters is redacted or blocked before any of it
/// reaches the client. Nor is a token (text without whitespace, up to <see cref="MaxTokenChars"/>) ever cut: a long JWT
/// or key is held until it ends and is scanned whole; a PEM block is recognised by its first line. A block ends the
/// stream at once with <c>finish_reason: "content_filter"</c>. Held-back text is released at the choice's end.
/// </summary>
internal sealed class SafeStream(IChatStream inner, SafetyPolicy policy, Action<ScanResult> record, Dictionary<string, string> placeholders,
    IReadOnlyDictionary<string, string>? restore = null) : IChatStream, IStreamTrailer
{
    /// <summary>Characters of each choice held back from the client until the text after them has been seen.</summary>
    public const int HoldbackChars = 128;

    /// <summary>Characters already released that are scanned again with new text (so a finding across the boundary is seen whole).</summary>
    private const int Overlap = 64;

    /// <summary>
    /// New characters gathered past the holdback before the window is scanned again: text is released in steps of at
    /// least this many characters (about 16 tokens), so a stream of small chunks is not rescanned for each of them.
    /// </summary>
    public const int StepChars = 64;

    /// <summary>The longest token held whole (see <see cref="TokenStart"/>).</summary>
    public const int MaxTokenChars = 4096;

    private sealed class ChoiceText
    {
        public readonly StringBuilder Text = new();
        public int Released;
        /// <summary>The text's length at its last scan.</summary>
        public int ScannedTo;
        /// <summary>Findings already recorded, by (start, length, detector) in <see cref="Text"/>.</summary>
        public HashSet<(int Start, int Length, string Detector)> Recorded = [];
        /// <summary>Puts the request's redacted values back into what is released (the policy's <c>restore</c>); null when off.</summary>
        public PlaceholderRestorer? Restorer;

        public bool HasPending => Released < Text.Length || Restorer?.HasPending == true;

        /// <summary>
        /// Drops the text before <paramref name="cut"/>, which no scan reads again (a window starts <see cref="Overlap"/>
        /// characters before what was released): the window's text stays about its size, not the whole answer's. Positions
        /// are kept relative to what is left; a finding that started before the cut cannot be seen again and is forgotten.
        /// </summary>
        public void Trim(int cut)
        {
            Text.Remove(0, cut);
            Released -= cut;
            ScannedTo -= cut;
            Recorded = [.. Recorded.Where(r => r.Start >= cut).Select(r => (r.Start - cut, r.Length, r.Detector))];
        }
    }

    /// <summary>Released text more than this far behind the window is dropped (in steps of at least this much, so rarely).</summary>
    private const int TrimChars = 4096;

    /// <summary>Each choice's text (tool -1) and each of its tool calls' arguments, by (choice, tool call) index.</summary>
    private readonly Dictionary<(int Choice, int Tool), ChoiceText> _texts = [];
    private bool _blocked;
    private JsonObject? _template;
    private bool _ended;

    public TokenUsage? Usage => inner.Usage;

    public string? Trailer => (inner as IStreamTrailer)?.Trailer;

    public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        while (!_ended)
        {
            var chunk = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (chunk is null)
            {
                _ended = true;
                return Flush();
            }

            // a chunk whose only content is held back carries nothing: it is not sent (the client sees the same text in fewer chunks)
            if (Check(chunk)) return chunk;
        }

        return null;
    }

    /// <summary>Runs the chunk's text through the windows; false when what is left of it is an empty content delta.</summary>
    private bool Check(JsonObject chunk)
    {
        _template ??= chunk;
        if (chunk["choices"] is not JsonArray choices) return true;
        var empty = true;
        foreach (var node in choices)
        {
            if (node is not JsonObject choice) continue;
            var index = (int?)choice["index"] ?? 0;
            var delta = choice["delta"] as JsonObject;
            var content = delta?["content"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            var finished = choice["finish_reason"] is JsonValue f && f.GetValueKind() == System.Text.Json.JsonValueKind.String;
            if (content is not null || finished)
            {
                var state = Text(index, -1);
                if (content is not null) state.Text.Append(content);
                var release = Release(state, finished);
                if (delta is not null && (content is not null || release.Length > 0)) delta["content"] = release;
                empty &= !finished && release.Length == 0 && OnlyContent(choice, delta);
            }
            else
            {
                empty = false;
            }

            // tool-call arguments, each call's through its own window
            if (delta?["tool_calls"] is JsonArray calls)
            {
                foreach (var call in calls.OfType<JsonObject>())
                {
                    if (call["function"] is not JsonObject function || function["arguments"] is not JsonValue a || !a.TryGetValue<string>(out var arguments)) continue;
                    var state = Text(index, (int?)call["index"] ?? 0);
                    state.Text.Append(arguments);
                    function["arguments"] = Release(state, false);
                }
            }

            if (finished && !_blocked) ReleaseToolCalls(index, choice);
            if (_blocked)
            {
                choice["delta"] = new JsonObject();
                choice["finish_reason"] = "content_filter";
                _ended = true;
                empty = false;
            }
        }

        return !empty || choices.Count == 0 || !OnlyMetadata(chunk);
    }

    /// <summary>The choice is its index, a delta of nothing but content, and null finish reason and log probabilities.</summary>
    private static bool OnlyContent(JsonObject choice, JsonObject? delta)
    {
        if (delta is null || delta.Count != 1) return false;
        foreach (var (name, value) in choice)
        {
            if (name is not ("index" or "delta") && !(name is "finish_reason" or "logprobs" && value is null)) return false;
        }

        return true;
    }

    /// <summary>Besides its choices, the chunk names only the stream's identity (no usage, no filter results, nothing unknown).</summary>
    private static bool OnlyMetadata(JsonObject chunk)
    {
        foreach (var (name, _) in chunk)
        {
            if (name is not ("id" or "object" or "created" or "model" or "system_fingerprint" or "service_tier" or "choices" or "obfuscation")) return false;
        }

        return true;
    }

    private ChoiceText Text(int choice, int tool)
    {
        if (!_texts.TryGetValue((choice, tool), out var state))
            _texts[(choice, tool)] = state = new ChoiceText { Restorer = restore is { Count: > 0 } ? new PlaceholderRestorer(restore) : null };
        return state;
    }

    /// <summary>
    /// Where to stop releasing so no token (a run without whitespace: a key, a JWT, a base64 blob) is cut: a token that
    /// runs past <paramref name="target"/> is held from its start until it ends and is scanned whole, up to
    /// <see cref="MaxTokenChars"/> characters (a longer one is released in pieces).
    /// </summary>
    private static int TokenStart(StringBuilder text, int target, int released)
    {
        if (target >= text.Length || target <= released || char.IsWhiteSpace(text[target]) || char.IsWhiteSpace(text[target - 1])) return target;
        var floor = Math.Max(released, target - MaxTokenChars);
        for (var i = target - 1; i > floor; i--)
        {
            if (char.IsWhiteSpace(text[i - 1])) return i;
        }

        return target - floor >= MaxTokenChars ? target : floor;
    }

    /// <summary>At a choice's end: its tool calls' held-back arguments, added to the chunk's delta.</summary>
    private void ReleaseToolCalls(int choice, JsonObject into)
    {
        foreach (var ((c, tool), state) in _texts.Where(t => t.Key.Choice == choice && t.Key.Tool >= 0 && t.Value.HasPending).OrderBy(t => t.Key.Tool).ToList())
        {
            var release = Release(state, final: true);
            if (_blocked) return;
            var delta = into["delta"] as JsonObject ?? (JsonObject)(into["delta"] = new JsonObject());
            var calls = delta["tool_calls"] as JsonArray ?? (JsonArray)(delta["tool_calls"] = new JsonArray());
            calls.Add(new JsonObject { ["index"] = tool, ["function"] = new JsonObject { ["arguments"] = release } });
        }
    }

    /// <summary>Scans the unreleased text (with an overlap of released text) and returns what may now go to the client.</summary>
    private string Release(ChoiceText state, bool final)
    {
        var text = state.Text;
        var target = final ? text.Length : Math.Max(state.Released, text.Length - HoldbackChars);
        if (!final) target = TokenStart(text, target, state.Released);
        // scanned again only once StepChars new characters have come (a finding held at its start does not make every chunk rescan)
        if (!final && (target <= state.Released || text.Length - state.ScannedTo < StepChars)) return "";
        state.ScannedTo = text.Length;
        var from = Math.Max(0, state.Released - Overlap);
        var window = text.ToString(from, text.Length - from);
        var scan = SafetyScanner.Scan(window, policy);
        var output = new StringBuilder();
        var at = state.Released;
        foreach (var f in scan.Findings)
        {
            var start = from + f.Start;
            var end = start + f.Length;
            // text released already was decided with everything around it: a finding inside it is a cut view of one seen before
            if (end <= state.Released) continue;
            if ((end <= target || final) && state.Recorded.Add((start, f.Length, f.Detector)))
                record(new ScanResult([f], policy.Actions[f.Detector]));
            var action = policy.Actions[f.Detector];
            if (end > target && !final)
            {
                // a finding that runs into the held-back text: release up to its start, decide when it is whole
                if (start >= at && start < target) target = start;
                continue;
            }

            if (action == SafetyAction.Block && end > state.Released)
            {
                _blocked = true;
                return "";
            }

            if (action != SafetyAction.Redact || start < at || end > target) continue;
            output.Append(text.ToString(at, start - at));
            output.Append(SafetyScanner.Placeholder(text.ToString(start, f.Length), f.Detector, placeholders));
            at = end;
        }

        if (target > at) output.Append(text.ToString(at, target - at));
        state.Released = Math.Max(state.Released, target);
        if (state.Released - Overlap >= TrimChars) state.Trim(state.Released - Overlap);
        return state.Restorer is { } restorer ? restorer.Push(output.ToString(), final) : output.ToString();
    }

    /// <summary>At the end of the upstream stream: whatever is still held back, as one last chunk (or nothing).</summary>
    private JsonObject? Flush()
    {
        if (_blocked) return null;
        var pending = _texts.Where(t => t.Value.HasPending).Select(t => t.Key.Choice).Distinct().Order().ToList();
        if (pending.Count == 0) return null;
        var choices = new JsonArray();
        foreach (var index in pending)
        {
            var choice = new JsonObject { ["index"] = index, ["delta"] = new JsonObject(), ["finish_reason"] = null };
            if (_texts.TryGetValue((index, -1), out var text) && text.HasPending)
            {
                var release = Release(text, final: true);
                if (!_blocked) choice["delta"]!["content"] = release;
            }

            if (!_blocked) ReleaseToolCalls(index, choice);
            if (_blocked)
            {
                choice["delta"] = new JsonObject();
                choice["finish_reason"] = "content_filter";
            }

            choices.Add(choice);
        }

        return ChatChunks.Like(_template, choices);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
