using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Safety;

namespace Gateway.Benchmarks;

/// <summary>The local detectors over 32 KB of text (issue target: ≤ 1 ms mean): ordinary prose with a few findings, and code.</summary>
[MemoryDiagnoser]
public class SafetyBenchmarks
{
    private string _prose = "";
    private string _code = "";

    /// <summary>32 KB of prose with a few findings.</summary>
    public string Prose => _prose;

    /// <summary>32 KB of C# with decimals, version numbers and UUIDs.</summary>
    public string Code => _code;
    private string _window = "";
    private string _answer = "";
    private readonly SafetyPolicy _strict = SafetyPolicy.Templates["strict"];
    private readonly SafetyPolicy _redact = SafetyPolicy.Templates["pii-redact"];

    [GlobalSetup]
    public void Setup()
    {
        var prose = new StringBuilder();
        var i = 0;
        while (prose.Length < 32 * 1024)
        {
            prose.Append("The quarterly review covered revenue, churn and the support backlog for the payments team. ");
            if (++i % 40 == 0) prose.Append("Write to jane.doe@example.org or call +1 415 555 2671 about card 4111 1111 1111 1111. ");
        }

        _prose = prose.ToString(0, 32 * 1024);
        var code = new StringBuilder();
        while (code.Length < 32 * 1024)
            code.Append("    var total = items.Where(x => x.Price > 10.5m).Sum(x => x.Price * 1.2m); // v1.2.3, id 3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b\n");
        _code = code.ToString(0, 32 * 1024);
        var answer = new StringBuilder();
        while (answer.Length < 32 * 1024) answer.Append(StreamSafetyBenchmarks.Answer());
        _answer = answer.ToString(0, 32 * 1024);
        _window = _answer[..512];
        _ = SafetyScanner.Scan(_prose, _strict);
    }

    [Benchmark]
    public int Prose32KbStrict() => SafetyScanner.Scan(_prose, _strict).Findings.Count;

    /// <summary>One in-stream window (overlap + holdback + step ≈ 512 characters), the unit of work of the stream check.</summary>
    [Benchmark]
    public int Window512Strict() => SafetyScanner.Scan(_window, _strict).Findings.Count;

    /// <summary>The streamed answer of <see cref="StreamSafetyBenchmarks"/>, repeated to 32 KB.</summary>
    [Benchmark]
    public int Answer32KbStrict() => SafetyScanner.Scan(_answer, _strict).Findings.Count;

    [Benchmark]
    public int Code32KbStrict() => SafetyScanner.Scan(_code, _strict).Findings.Count;

    [Benchmark]
    public int Prose32KbRedact()
    {
        var scan = SafetyScanner.Scan(_prose, _redact);
        return SafetyScanner.Redact(_prose, scan, _redact, new Dictionary<string, string>(StringComparer.Ordinal)).Length;
    }
}
