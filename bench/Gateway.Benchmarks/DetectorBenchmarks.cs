using BenchmarkDotNet.Attributes;
using Gateway.Core.Safety;

namespace Gateway.Benchmarks;

/// <summary>Each built-in detector alone over the 32 KB code and prose texts of <see cref="SafetyBenchmarks"/>: which detector a whole scan's time goes to.</summary>
[MemoryDiagnoser]
public class DetectorBenchmarks
{
    private readonly List<Finding> _found = [];
    private string _code = "";
    private string _prose = "";
    private IDetector _detector = null!;

    public static IEnumerable<string> Names => Detectors.All.Keys;

    [ParamsSource(nameof(Names))]
    public string Detector { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var texts = new SafetyBenchmarks();
        texts.Setup();
        _code = texts.Code;
        _prose = texts.Prose;
        _detector = Detectors.All[Detector];
    }

    [Benchmark]
    public int Code32Kb()
    {
        _found.Clear();
        _detector.Find(_code, _found);
        return _found.Count;
    }

    [Benchmark]
    public int Prose32Kb()
    {
        _found.Clear();
        _detector.Find(_prose, _found);
        return _found.Count;
    }
}
