using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Safety;
using Gateway.Testing;

namespace Gateway.Benchmarks;

/// <summary>
/// What the in-stream safety check adds to a streamed answer (issue target: ≤ 5 % CPU). One streamed request through
/// the whole pipeline — the OpenAI provider reading server-sent events from an in-memory upstream (no sockets), the
/// gateway writing them out — for an answer of about 500 tokens (2,400 characters in 600 chunks of 4, with an email
/// address and a card number in it), without a policy (the baseline), with <c>baseline</c> (PII flagged, secrets
/// blocked) and with <c>pii-redact</c> (PII redacted on its way).
/// </summary>
[MemoryDiagnoser]
public class StreamSafetyBenchmarks
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Summarise the quarterly review."}]}""");

    private readonly Dictionary<string, (GatewayRuntime Runtime, BenchHeaders Headers)> _gateways = [];

    [Params("none", "baseline", "pii-redact")]
    public string Policy { get; set; } = "none";

    [GlobalSetup]
    public void Setup()
    {
        var answer = Answer();
        for (var at = 0; at < answer.Length; at += 4) _pieces.Add(answer.Substring(at, Math.Min(4, answer.Length - at)));
        var sse = Sse(answer);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = "http://upstream.bench/v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
            Safety = new SafetyOptions { Policy = Policy == "none" ? null : Policy },
        };
        var runtime = new GatewayRuntime(options, new BenchSecrets("sk-bench"), new InMemoryKeyStore(), _ => new HttpClient(new CannedSse(sse)), TimeProvider.System);
        var (_, key) = runtime.Keys.CreateAsync(new CreateKeyRequest("bench", "u", "t", [], new Dictionary<string, string>()), default).GetAwaiter().GetResult();
        _gateways[Policy] = (runtime, new BenchHeaders(key));
    }

    private List<string> _pieces = [];

    [Benchmark(Description = "stream of 600 chunks through the pipeline")]
    public Task<long> Stream()
    {
        var (runtime, headers) = _gateways[Policy];
        return GatewayCalls.StreamAsync(runtime, headers, Body);
    }

    /// <summary>
    /// The check alone: the same 600 chunks, already parsed, read through the in-stream check (or, without a policy,
    /// straight). Its difference to "none" is the check's own CPU, without the pipeline's noise around it.
    /// </summary>
    [Benchmark(Description = "the same chunks through the in-stream check only")]
    public async Task<int> CheckOnly()
    {
        IChatStream stream = FakeChatStream.Text(_pieces);
        if (Policy != "none") stream = new SafeStream(stream, SafetyPolicy.Templates[Policy], _ => { }, new Dictionary<string, string>(StringComparer.Ordinal));
        var n = 0;
        await using (stream)
        {
            while (await stream.ReadAsync(default) is { } chunk) n += chunk.Count;
        }

        return n;
    }

    /// <summary>About 2,400 characters of prose with an email address and a card number in the middle.</summary>
    public static string Answer()
    {
        var text = new StringBuilder();
        while (text.Length < 1100) text.Append("The quarterly review covered revenue, churn and the support backlog. ");
        text.Append("Write to jane.doe@example.org about card 4111 1111 1111 1111. ");
        while (text.Length < 2400) text.Append("The payments team will follow up next week with the numbers. ");
        return text.ToString();
    }

    /// <summary>The answer as OpenAI streams it: a role chunk, 4-character content chunks, a finish chunk, a usage chunk, [DONE].</summary>
    public static byte[] Sse(string answer)
    {
        var sse = new StringBuilder();
        void Event(JsonObject delta, string? finish, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-bench", ["object"] = "chat.completion.chunk", ["created"] = 1764547200, ["model"] = "gpt-4o-2024-08-06",
                ["choices"] = usage is null ? new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }) : new JsonArray(),
            };
            if (usage is not null) chunk["usage"] = usage;
            sse.Append("data: ").Append(chunk.ToJsonString()).Append("\n\n");
        }

        Event(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        for (var at = 0; at < answer.Length; at += 4) Event(new JsonObject { ["content"] = answer.Substring(at, Math.Min(4, answer.Length - at)) }, null);
        Event(new JsonObject(), "stop");
        Event(new JsonObject(), null, new JsonObject { ["prompt_tokens"] = 12, ["completion_tokens"] = 600, ["total_tokens"] = 612 });
        sse.Append("data: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(sse.ToString());
    }

    /// <summary>An upstream in memory: every request is answered with the same server-sent events.</summary>
    private sealed class CannedSse(byte[] sse) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(sse);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
        }
    }
}
