using System.Text.Json;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;

namespace Gateway.Benchmarks;

/// <summary>One request through a gateway as the Functions app serves it: handle, write the answer, then the after-response work.</summary>
internal static class GatewayCalls
{
    /// <summary>A whole completion, serialised; returns its length.</summary>
    public static async Task<long> CompleteAsync(GatewayRuntime runtime, IRequestHeaders headers, byte[] body)
    {
        var context = new GatewayContext("req_bench", headers, new MemoryStream(body, false), body.Length, TimeProvider.System, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        var completion = (GatewayResult.Completion)outcome.Result!;
        using var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, completion.Body);
        await context.CompleteAsync(); // usage record, budget settlement, rate-limit correction
        return output.Length;
    }

    /// <summary>A stream, written out as server-sent events; returns their length.</summary>
    public static async Task<long> StreamAsync(GatewayRuntime runtime, IRequestHeaders headers, byte[] body)
    {
        var context = new GatewayContext("req_bench", headers, new MemoryStream(body, false), body.Length, TimeProvider.System, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        using var output = new MemoryStream();
        await using (var stream = ((GatewayResult.Streaming)outcome.Result!).Stream)
            await ChatStreamWriter.WriteAsync(stream, output, includeUsage: true, default);
        await context.CompleteAsync();
        return output.Length;
    }
}

/// <summary>A benchmark's request headers: its key as a bearer token and, when given, a <c>Cache-Control</c> value.</summary>
internal sealed class BenchHeaders(string key, string? cacheControl = null) : IRequestHeaders
{
    private readonly string _authorization = "Bearer " + key;

    public string? Get(string name) =>
        string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase) ? _authorization
        : cacheControl is not null && string.Equals(name, "Cache-Control", StringComparison.OrdinalIgnoreCase) ? cacheControl
        : null;
}

/// <summary>Every setting resolves to <paramref name="value"/> (a fake upstream or service key), or to nothing.</summary>
internal sealed class BenchSecrets(string? value = null) : ISecretResolver
{
    public string? Resolve(string settingName) => value;
}
