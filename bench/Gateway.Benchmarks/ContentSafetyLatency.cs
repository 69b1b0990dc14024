using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Safety;
using Gateway.Testing;

namespace Gateway.Benchmarks;

/// <summary>
/// The latency Azure AI Content Safety adds to a request (issue target: ≤ 50 ms at p99 with a service answering in
/// 20 ms, ≈ 0 in parallel mode when the model is slower than the check). A local server speaking the service's wire
/// format answers every call after 20 ms (text:analyze and text:shieldPrompt, called at once); the model is the offline
/// mock answering after 0 ms (what the check adds on its own) or 100 ms (a model slower than the check). Each case
/// sends the same request a few hundred times in sequence and reports p50, p95 and p99 of the whole request, and what
/// the check added at each against the same model without it. Run: <c>dotnet run -c Release -- safety-latency</c>.
/// </summary>
public static class ContentSafetyLatency
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the quarterly numbers in one sentence."}]}""");

    public static async Task RunAsync(int requests = 400)
    {
        await using var service = await FakeContentSafetyServer.StartAsync();
        service.Delay = TimeSpan.FromMilliseconds(20);
        Console.WriteLine($"Content Safety answering in 20 ms; {requests} sequential requests per case ({Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription})");
        Console.WriteLine("| model latency | mode | p50 ms | p95 ms | p99 ms | added p50 ms | added p99 ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var modelMs in new[] { 0, 100 })
        {
            double[]? without = null;
            foreach (var mode in new[] { "none", "before", "parallel" })
            {
                var gateway = await GatewayAsync(service.BaseUri, modelMs, mode);
                for (var i = 0; i < 20; i++) await SendAsync(gateway);
                var times = new double[requests];
                for (var i = 0; i < requests; i++)
                {
                    var clock = Stopwatch.StartNew();
                    await SendAsync(gateway);
                    times[i] = clock.Elapsed.TotalMilliseconds;
                }

                Array.Sort(times);
                without ??= times;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {modelMs} ms | {mode} | {P(times, 50):F1} | {P(times, 95):F1} | {P(times, 99):F1} | {P(times, 50) - P(without, 50):F1} | {P(times, 99) - P(without, 99):F1} |"));
            }
        }
    }

    private static double P(double[] sorted, int percentile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1)];

    private static async Task<(GatewayRuntime Runtime, BenchHeaders Headers)> GatewayAsync(Uri service, int modelMs, string mode)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "m", MockLatencyMs = modelMs, MockCompletionTokens = 16 }],
                Models = [new ModelOptions { Name = "m", Deployments = ["mock"] }],
            },
            Safety = new SafetyOptions
            {
                Policy = mode == "none" ? null
                    : $$$"""{"name":"cs","extends":"baseline","contentSafety":{"blockAt":{"Hate":4,"Violence":4},"promptShield":true,"mode":"{{{(mode == "parallel" ? "parallel" : "before")}}}"}}""",
                ContentSafety = new ContentSafetyOptions { Endpoint = service.ToString(), Auth = "key", ApiKeySetting = "CS_KEY" },
            },
        };
        var runtime = new GatewayRuntime(options, new BenchSecrets("cs-bench-key"), new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("bench", "u", "t", [], new Dictionary<string, string>()), default);
        return (runtime, new BenchHeaders(key, "no-store"));
    }

    private static Task<long> SendAsync((GatewayRuntime Runtime, BenchHeaders Headers) gateway) => GatewayCalls.CompleteAsync(gateway.Runtime, gateway.Headers, Body);
}
