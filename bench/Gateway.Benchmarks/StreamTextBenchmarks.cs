using System.IO.Compression;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Protocol;

namespace Gateway.Benchmarks;

/// <summary>
/// What keeping a stream's delivered text costs (<see cref="StreamText"/>): an answer of 16,000 characters of prose (the
/// gateway's README, from its start) appended in pieces of 4 characters, as a stream delivers them — three full 4 KiB
/// blocks compressed on the way — and the compression of one 4 KiB block alone (Brotli, quality 1, the cost each block
/// adds), with what the stored text then takes.
/// </summary>
[MemoryDiagnoser]
public class StreamTextBenchmarks
{
    private string[] _pieces = [];
    private byte[] _block = [];
    private readonly byte[] _packed = new byte[StreamText.BlockBytes];

    [GlobalSetup]
    public void Setup()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "README.md"))) dir = dir.Parent;
        var prose = File.ReadAllText(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("no README.md above the benchmark"), "README.md"))[..16_000];
        _pieces = Enumerable.Range(0, prose.Length / 4).Select(i => prose.Substring(i * 4, 4)).ToArray();
        _block = Encoding.UTF8.GetBytes(prose)[..StreamText.BlockBytes];
        var text = Append();
        Console.WriteLine($"// 16,000 characters: {text.Utf8Bytes} bytes of UTF-8 held in {text.CapacityBytes} bytes");
    }

    [Benchmark(Description = "16,000 characters of prose appended in pieces of 4")]
    public StreamText Append()
    {
        var text = new StreamText();
        foreach (var piece in _pieces) text.Append(piece);
        return text;
    }

    [Benchmark(Description = "one 4 KiB block compressed (Brotli q1)")]
    public int CompressBlock() => BrotliEncoder.TryCompress(_block, _packed, out var written, 1, 12) ? written : -1;
}
