namespace Gateway.Core.Usage;

/// <summary>
/// A stream's pace, from the moments its chunks with text (or tool-call fragments) reached the client: time to the
/// first, the gaps between the next ones (inter-token latency, per chunk: providers send about one token a chunk),
/// the whole duration and the output tokens per second of generation (after the first token). The first
/// <see cref="ExactGaps"/> gaps are kept as they are, so the percentiles of a stream of up to that many are exact; past
/// them every gap is counted in a fixed histogram (<see cref="GapHistogram"/>: 0.1 ms steps below 10 ms, then two
/// significant digits up to 100 s), so a stream of any length holds at most 2 KiB for its pace (the exact gaps; then
/// ~0.9 KiB of 16-bit counts, widened to 32 bits only if one bucket passes 65,535 gaps), not a list of every gap.
/// </summary>
public sealed class StreamTiming(long startedAt, TimeProvider time)
{
    public const int ExactGaps = 512;

    private List<float>? _gaps = [];
    private GapHistogram? _histogram;
    private long _first;
    private long _last;
    private long _ended;

    public long? TimeToFirstTokenMs => _first == 0 ? null : (long)time.GetElapsedTime(startedAt, _first).TotalMilliseconds;

    /// <summary>A chunk with text reached the client now.</summary>
    public void Token()
    {
        var now = time.GetTimestamp();
        if (_first == 0) _first = now;
        else Gap((float)time.GetElapsedTime(_last, now).TotalMilliseconds);
        _last = now;
    }

    private void Gap(float ms)
    {
        if (_gaps is not null && _gaps.Count < ExactGaps)
        {
            _gaps.Add(ms);
            return;
        }

        if (_histogram is null)
        {
            _histogram = new GapHistogram();
            foreach (var gap in _gaps!) _histogram.Add(gap);
            _gaps = null;
        }

        _histogram.Add(ms);
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
        if (_histogram is not null) return Math.Round(_histogram.Percentile(p), 1);
        if (_gaps is not { Count: > 0 }) return null;
        var sorted = _gaps.Order().ToList();
        return Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)], 1);
    }
}

/// <summary>
/// Counts of gaps in milliseconds by bucket: 0.1 ms wide below 10 ms, then ten buckets per tenfold up to 100 s (10–11,
/// 11–12 … 90–100 ms, 100–110 …), and one for anything longer. A percentile is its bucket's middle: within 0.05 ms below
/// 10 ms, within 5 % above.
/// </summary>
internal sealed class GapHistogram
{
    private const int Fine = 100;          // 0.0–10.0 ms in 0.1 ms steps
    private const int PerDecade = 90;      // 10–100, 100–1,000, … in steps of a tenth of the decade's start
    private const int Decades = 4;         // up to 100 s
    private const int Buckets = Fine + PerDecade * Decades + 1;
    /// <summary>The counts in 16 bits (~0.9 KiB) until a bucket would pass 65,535; then in 32 (<see cref="_wide"/>).</summary>
    private ushort[]? _narrow = new ushort[Buckets];
    private int[]? _wide;
    private int _total;

    public void Add(float ms)
    {
        var bucket = Bucket(ms);
        if (_narrow is { } narrow)
        {
            if (narrow[bucket] < ushort.MaxValue)
            {
                narrow[bucket]++;
                _total++;
                return;
            }

            _wide = Array.ConvertAll(narrow, count => (int)count);
            _narrow = null;
        }

        _wide![bucket]++;
        _total++;
    }

    private int Count(int bucket) => _narrow is { } narrow ? narrow[bucket] : _wide![bucket];

    /// <summary>Whether the counts have been widened to 32 bits (a bucket passed 65,535).</summary>
    internal bool Wide => _wide is not null;

    private static int Bucket(float ms)
    {
        if (!(ms >= 0)) return 0;
        if (ms < 10) return (int)(ms * 10);
        var decadeStart = 10.0;
        for (var d = 0; d < Decades; d++, decadeStart *= 10)
        {
            if (ms < decadeStart * 10) return Fine + d * PerDecade + (int)((ms - decadeStart) / (decadeStart / 10));
        }

        return Fine + PerDecade * Decades;
    }

    private static double Middle(int bucket)
    {
        if (bucket < Fine) return bucket / 10.0 + 0.05;
        bucket -= Fine;
        if (bucket >= PerDecade * Decades) return 100_000;
        var step = Math.Pow(10, bucket / PerDecade);   // 1 ms in 10–100, 10 ms in 100–1,000, …
        return 10 * step + (bucket % PerDecade + 0.5) * step;
    }

    /// <summary>The gap at rank ceil(p × n) (as the exact percentile takes it), as its bucket's middle.</summary>
    public double Percentile(double p)
    {
        var rank = Math.Max(1, (int)Math.Ceiling(p * _total));
        var seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += Count(i);
            if (seen >= rank) return Middle(i);
        }

        return Middle(Buckets - 1);
    }
}
