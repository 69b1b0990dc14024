namespace Gateway.Core.Usage;

/// <summary>
/// A stream's pace, from the moments its chunks with text (or tool-call fragments) reached the client: time to the
/// first, the gaps between the next ones (inter-token latency, per chunk: providers send about one token a chunk),
/// the whole duration and the output tokens per second of generation (after the first token). Gaps are kept up to
/// <see cref="MaxGaps"/> (a stream of more is summarized on its first ones).
/// </summary>
public sealed class StreamTiming(long startedAt, TimeProvider time)
{
    public const int MaxGaps = 20_000;

    private readonly List<float> _gaps = [];
    private long _first;
    private long _last;
    private long _ended;

    public long? TimeToFirstTokenMs => _first == 0 ? null : (long)time.GetElapsedTime(startedAt, _first).TotalMilliseconds;

    /// <summary>A chunk with text reached the client now.</summary>
    public void Token()
    {
        var now = time.GetTimestamp();
        if (_first == 0) _first = now;
        else if (_gaps.Count < MaxGaps) _gaps.Add((float)time.GetElapsedTime(_last, now).TotalMilliseconds);
        _last = now;
    }

    /// <summary>The stream ended (whole or not) now.</summary>
    public void End()
    {
        if (_ended == 0) _ended = time.GetTimestamp();
    }

    public long? DurationMs => _ended == 0 ? null : (long)time.GetElapsedTime(startedAt, _ended).TotalMilliseconds;

    public double? InterTokenP50Ms => Percentile(0.50);

    public double? InterTokenP95Ms => Percentile(0.95);

    /// <summary>Output tokens over the time from the first token to the end (null without both, or with no time between).</summary>
    public double? OutputTokensPerSecond(long completionTokens)
    {
        if (_first == 0 || _ended == 0) return null;
        var seconds = time.GetElapsedTime(_first, _ended).TotalSeconds;
        return seconds > 0 && completionTokens > 0 ? Math.Round(completionTokens / seconds, 1) : null;
    }

    private double? Percentile(double p)
    {
        if (_gaps.Count == 0) return null;
        var sorted = _gaps.Order().ToList();
        return Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)], 1);
    }
}
