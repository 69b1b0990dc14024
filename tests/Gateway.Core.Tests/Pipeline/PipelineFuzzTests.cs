using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Usage;
using Gateway.Testing;
using FsCheck;
using FsCheck.Xunit;
using static Gateway.Core.Tests.Protocol.ChatRequestParserTests;

namespace Gateway.Core.Tests.Pipeline;

/// <summary>
/// Malformed and hostile requests through the whole pipeline (authentication to the mock provider, usage records
/// included): generated JSON-shaped requests over the request grammar, and mutations of valid ones — truncated,
/// bytes flipped, fields duplicated, values replaced by huge, deep or odd ones — with odd tag and user headers.
/// Whatever arrives: no 5xx, every refusal an OpenAI error (a type, a message, a 4xx status), every request one usage
/// record.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class PipelineFuzzTests
{
    private const string Valid = """{"model":"m","temperature":0.2,"max_tokens":50,"stream":false,"user":"u1","metadata":{"a":"b"},"stop":["x"],"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hello"}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}""";

    private static readonly string[] Replacements =
    [
        "1e400", "-1e400", "null", "true", "\"\"", "[]", "{}", "\"\\ud800\"", "9223372036854775808", "-1", "0", "1.5",
        new string('[', 200) + new string(']', 200), "\"" + new string('x', 5000) + "\"", "{\"a\":{\"b\":{\"c\":[1,2,{\"d\":1e999}]}}}",
    ];

    private static readonly string[] Headers = ["", "a=b", "=", "a=", "a==b", "k=" + new string('v', 200), string.Join(",", Enumerable.Range(0, 30).Select(i => $"t{i}=v")), "a=b,,c=d", "\u0001=\u0002"];

    private static Gen<string> Mutation() => Gen.OneOf(
        // truncated anywhere
        Gen.Choose(0, Valid.Length - 1).Select(n => Valid[..n]),
        // one character replaced by another (quotes, brackets, control characters)
        Gen.Choose(0, Valid.Length - 1).SelectMany(_ => Gen.Elements('"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', 'x', '9'), (i, c) => Valid[..i] + c + Valid[(i + 1)..]),
        // a value replaced (every value starts after a ':')
        Gen.Elements(Enumerable.Range(0, Valid.Length).Where(i => Valid[i] == ':').ToArray())
            .SelectMany(_ => Gen.Elements(Replacements), (i, v) =>
            {
                var end = Valid.IndexOfAny([',', '}'], i + 1);
                return Valid[..(i + 1)] + v + Valid[end..];
            }),
        // a field duplicated
        Gen.Elements("\"model\":\"m\",", "\"messages\":[],", "\"stream\":true,").Select(dup => "{" + dup + Valid[1..]),
        // streamed
        Gen.Constant(Valid.Replace("\"stream\":false", "\"stream\":true,\"stream_options\":{\"include_usage\":true}", StringComparison.Ordinal)));

    public sealed record Hostile(string Json, string Tags, string? User);

    public static class HostileRequests
    {
        public static Arbitrary<Hostile> Requests()
        {
            var bodies = Gen.Frequency(Tuple.Create(1, JsonishRequests.Requests().Generator.Select(r => r.Json)), Tuple.Create(1, Mutation()));
            var gen = bodies.SelectMany(_ => Gen.Elements(Headers), (b, t) => (b, t))
                .SelectMany(_ => Gen.Elements<string?>(null, "", "alice", new string('u', 300), "\u0000"), (bt, u) => new Hostile(bt.b, bt.t, u));
            return Arb.From(gen);
        }
    }

    private sealed class FuzzHeaders(string key, Hostile request) : Gateway.Core.Pipeline.IRequestHeaders
    {
        public string? Get(string name) => name.ToLowerInvariant() switch
        {
            "authorization" => "Bearer " + key,
            "x-gateway-tags" => request.Tags.Length == 0 ? null : request.Tags,
            "x-gateway-user" => request.User,
            _ => null,
        };
    }

    private static readonly Lazy<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway = new(() =>
    {
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1", MockCompletionTokens = 4 }],
                Models = [new ModelOptions { Name = "m", Deployments = ["mock"] }],
            },
        }, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = runtime.Keys.CreateAsync(new CreateKeyRequest("fuzz", "fuzzer", "t", [], new Dictionary<string, string> { ["suite"] = "fuzz" }), default).GetAwaiter().GetResult();
        return (runtime, usage, key);
    });

    [Property(MaxTest = 1500, Arbitrary = [typeof(HostileRequests)])]
    public bool Hostile_requests_get_an_answer_or_an_openai_4xx_and_each_one_usage_record(Hostile request)
    {
        var (runtime, usage, key) = Gateway.Value;
        var before = usage.Records.Count;
        var sent = GatewayRequests.SendAsync(runtime, new FuzzHeaders(key, request), request.Json).GetAwaiter().GetResult();
        var answered = sent.Outcome.Error is null
            ? sent.Outcome.Result is not null && sent.StreamError is null
            : sent.Outcome.Error is { Status: >= 400 and < 500 } e && !string.IsNullOrEmpty(e.Type) && !string.IsNullOrEmpty(e.Message)
              && Encoding.UTF8.GetString(e.ToJsonBytes()).StartsWith("{\"error\":{", StringComparison.Ordinal);
        var recorded = usage.Records.Count == before + 1 && usage.Records[^1].Status == (sent.Outcome.Error?.Status ?? 200);
        return answered && recorded;
    }
}
