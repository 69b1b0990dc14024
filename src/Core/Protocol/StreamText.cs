using System.Text;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Gateway.Core.Protocol;

/// <summary>
/// The text a streamed answer has delivered so far — each choice's content, its tool calls' names and arguments — kept
/// once per stream for what needs it after the fact: pricing, when the provider reports no usage, and a recovery's
/// continuation. Stored as UTF-8 in segments that grow from 128 bytes to 4 KiB and are never copied, so an answer of
/// n ASCII characters holds about n bytes (a <see cref="StringBuilder"/> held 2n and more), the last segment's free
/// space at most 4 KiB on top. A lone surrogate (not valid UTF-16) comes back as U+FFFD; a pair split between two appends
/// is kept whole.
/// </summary>
public sealed class StreamText
{
    private const int FirstSegment = 128;
    private const int MaxSegment = 4096;

    private List<(byte[] Bytes, int Used)>? _full;
    private byte[] _segment = [];
    private int _used;
    private int _fullBytes;
    /// <summary>A high surrogate at the end of the last append, waiting for its low half.</summary>
    private char _pendingHigh;

    /// <summary>The text's length in UTF-16 characters (as <see cref="string.Length"/> of <see cref="ToString"/>).</summary>
    public int Length { get; private set; }

    /// <summary>The bytes the text is stored in: the segments' capacity, their free space included.</summary>
    public int CapacityBytes => (_full?.Sum(s => s.Bytes.Length) ?? 0) + _segment.Length;

    /// <summary>Appends each choice's delta content and its tool calls' names and arguments, in order.</summary>
    public void Note(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk["choices"] is not JsonArray choices) return;
        foreach (var choice in choices)
        {
            if (choice?["delta"] is not JsonObject delta) continue;
            Append(TextOf(delta["content"]));
            if (delta["tool_calls"] is not JsonArray calls) continue;
            foreach (var call in calls)
            {
                if (call?["function"] is not JsonObject function) continue;
                Append(TextOf(function["name"]));
                Append(TextOf(function["arguments"]));
            }
        }
    }

    private static string? TextOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public void Append(string? text) => Append(text.AsSpan());

    public void Append(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        Length += text.Length;
        if (_pendingHigh != 0)
        {
            Span<char> pair = [_pendingHigh, text[0]];
            _pendingHigh = '\0';
            if (char.IsLowSurrogate(text[0]))
            {
                Encode(pair);
                text = text[1..];
            }
            else Encode(pair[..1]);
        }

        if (!text.IsEmpty && char.IsHighSurrogate(text[^1]))
        {
            _pendingHigh = text[^1];
            text = text[..^1];
        }

        Encode(text);
    }

    private void Encode(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            var status = Utf8.FromUtf16(text, _segment.AsSpan(_used), out var read, out var written, replaceInvalidSequences: true, isFinalBlock: true);
            _used += written;
            text = text[read..];
            if (status == System.Buffers.OperationStatus.Done) return;
            // the segment is full (or has less room than the next character needs): start the next one
            if (_segment.Length > 0)
            {
                (_full ??= []).Add((_segment, _used));
                _fullBytes += _used;
            }

            _segment = new byte[Math.Clamp(_segment.Length * 2, FirstSegment, MaxSegment)];
            _used = 0;
        }
    }

    public override string ToString()
    {
        if (Length == 0) return "";
        string text;
        if (_full is null) text = Encoding.UTF8.GetString(_segment, 0, _used);
        else
        {
            var all = new byte[_fullBytes + _used];
            var at = 0;
            foreach (var (bytes, used) in _full)
            {
                bytes.AsSpan(0, used).CopyTo(all.AsSpan(at));
                at += used;
            }

            _segment.AsSpan(0, _used).CopyTo(all.AsSpan(at));
            text = Encoding.UTF8.GetString(all);
        }

        return _pendingHigh == 0 ? text : text + _pendingHigh;
    }
}
