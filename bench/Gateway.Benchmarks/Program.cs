using BenchmarkDotNet.Running;

if (args is [("stream-loop" or "pipeline-loop") and var mode, var policy])
{
    // A steady loop, for CPU time and for a profiler (perf): the in-stream check alone over the benchmark's answer, or
    // the whole streamed request through the pipeline. Prints wall and process CPU time per stream.
    var bench = new Gateway.Benchmarks.StreamSafetyBenchmarks { Policy = policy };
    bench.Setup();
    Func<Task> once = mode == "stream-loop" ? async () => await bench.CheckOnly() : async () => await bench.Stream();
    for (var i = 0; i < 2_000; i++) await once();
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    const int n = 10_000;
    for (var i = 0; i < n; i++) await once();
    Console.WriteLine($"{mode} {policy}: {clock.Elapsed.TotalMilliseconds / n * 1000:F1} µs per stream, CPU {(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / n * 1000:F1} µs");
    return;
}

if (args is ["safety-latency"])
{
    await Gateway.Benchmarks.ContentSafetyLatency.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Gateway.Benchmarks.PipelineBenchmarks).Assembly).Run(args);
