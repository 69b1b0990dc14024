using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Resilience;
using Gateway.Core.Usage;
using Gateway.Testing;
using Xunit.Abstractions;

namespace Gateway.Core.Tests.Resilience;

/// <summary>
/// Streams that break after their first byte — reset, stalled, an error event — continued on the same or the next
/// deployment over real sockets, against fake upstreams that answer a continuation with the rest of the same answer.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class StreamRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private FakeLlmServer _a = null!;
    private FakeLlmServer _b = null!;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public async Task InitializeAsync()
    {
        _a = await FakeLlmServer.StartAsync();
        _b = await FakeLlmServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static readonly string Prompt = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"word{i}"));

    /// <summary>What an unbroken stream says: the fake echoes the prompt.</summary>
    private static readonly string Whole = "echo: " + Prompt;

    private async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway(string provider = "openai", string? continuation = null, double idle = 30)
    {
        var path = provider == "anthropic" ? "" : "v1";
        var model = provider == "anthropic" ? "claude-sonnet-4-5" : "gpt-4o";
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "a", Provider = provider, Model = model, Endpoint = _a.BaseUri + path, ApiKeySetting = "K", Continuation = continuation, StreamIdleTimeoutSeconds = idle },
                    new DeploymentOptions { Name = "b", Provider = provider, Model = model, Endpoint = _b.BaseUri + path, ApiKeySetting = "K", Continuation = continuation, StreamIdleTimeoutSeconds = idle, Priority = 1 },
                ],
                Models = [new ModelOptions { Name = "m", Deployments = ["a", "b"] }],
            },
            Resilience = new ResilienceOptions { MinimumThroughput = 1000 },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => _http, TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, usage, key);
    }

    private static string Chat(bool logprobs = false, int n = 1) => new JsonObject
    {
        ["model"] = "m", ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true }, ["max_tokens"] = 500,
        ["logprobs"] = logprobs ? true : null, ["n"] = n,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Prompt }),
    }.ToJsonString();

    public static TheoryData<string> Faults => ["reset", "error event", "stall"];

    private static FakeFault Fault(string kind, int after) => kind switch
    {
        "reset" => new BrokenStream(after),
        "error event" => new StreamErrorEvent(after),
        _ => new StreamStall(after, TimeSpan.FromSeconds(5)),
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_stream_broken_mid_answer_is_continued_and_the_client_gets_the_whole_answer_once(string kind)
    {
        var (runtime, usage, key) = await Gateway(idle: 0.5);
        _a.EnqueueFault(Fault(kind, 8));

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());

        Assert.Null(sent.StreamError);
        Assert.Equal(Whole, sent.StreamedContent());
        var events = sent.Events();
        Assert.Single(events.Select(e => (string?)e["id"]).Distinct());
        Assert.Single(events.Select(e => (string?)e["model"]).Distinct());
        Assert.Single(events, e => e["choices"] is JsonArray { Count: > 0 } choices && choices[0]?["delta"]?["role"] is not null);
        Assert.Single(events, e => e["usage"] is JsonObject);
        Assert.Contains(": x-gateway-cost-usd=", sent.Text, StringComparison.Ordinal);
        Assert.Contains("; recovered after ", sent.Text, StringComparison.Ordinal);
        var record = Assert.Single(usage.Records);
        Assert.Equal((1, UsageOutcomes.Success), (record.StreamRecoveries, record.Outcome));
        Assert.StartsWith("after ", record.StreamRecovery, StringComparison.Ordinal);
        // both attempts are counted: the broken one's text, and its prompt as a billed failure
        Assert.True(record.CompletionTokens > 5, record.CompletionTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, record.BilledFailures);
        Assert.Equal(2, record.Attempts);
        // the continuation went to the deployment that broke (it answers again), as prefilled or instructed text
        var continuation = JsonNode.Parse(_a.Requests[^1].Body)!;
        Assert.Equal("assistant", (string?)continuation["messages"]![1]!["role"]);
        Assert.StartsWith("echo: word0", (string?)continuation["messages"]![1]!["content"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instructed_continuation_that_repeats_the_end_of_the_answer_is_spliced_without_the_repeat()
    {
        var (runtime, _, key) = await Gateway(continuation: StreamContinuation.Instructed);
        _a.EnqueueFault(new BrokenStream(10));

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());

        Assert.Equal(Whole, sent.StreamedContent());
        var continuation = JsonNode.Parse(_a.Requests[^1].Body)!["messages"]!.AsArray();
        Assert.Equal(("assistant", "user"), ((string?)continuation[^2]!["role"], (string?)continuation[^1]!["role"]));
        Assert.Equal(StreamContinuation.Instruction, (string?)continuation[^1]!["content"]);
    }

    [Theory]
    [InlineData(StreamContinuation.ContinueFinalMessage)]
    [InlineData(StreamContinuation.Prefix)]
    public async Task Servers_that_continue_a_final_message_are_asked_in_their_own_way(string mode)
    {
        var (runtime, _, key) = await Gateway(continuation: mode);
        _a.EnqueueFault(new BrokenStream(6));

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());

        Assert.Equal(Whole, sent.StreamedContent());
        var body = JsonNode.Parse(_a.Requests[^1].Body)!;
        if (mode == StreamContinuation.ContinueFinalMessage) Assert.Equal((true, false), ((bool)body["continue_final_message"]!, (bool)body["add_generation_prompt"]!));
        else Assert.True((bool)body["messages"]!.AsArray()[^1]!["prefix"]!);
    }

    [Fact]
    public async Task Anthropic_is_continued_with_a_prefill_on_the_next_deployment_when_the_first_keeps_failing()
    {
        var (runtime, usage, key) = await Gateway(provider: "anthropic");
        _a.EnqueueFault(new BrokenStream(9));
        _a.EnqueueFault(new ServerError(503));

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());

        Assert.Null(sent.StreamError);
        Assert.Equal(Whole, sent.StreamedContent());
        var prefill = JsonNode.Parse(_b.Requests[^1].Body)!["messages"]!.AsArray()[^1]!;
        Assert.Equal("assistant", (string?)prefill["role"]);
        Assert.Equal("b", Assert.Single(usage.Records).Deployment);
    }

    [Fact]
    public async Task A_half_written_tool_call_and_requests_with_logprobs_or_several_choices_end_with_the_error_event_as_before()
    {
        var (runtime, _, key) = await Gateway();
        _a.Enqueue(new FakeReply { ToolCalls = [new FakeToolCall("call_1", "lookup", """{"query":"a long query that streams in pieces","limit":10}""")] });
        _a.EnqueueFault(new BrokenStream(3));
        var tool = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());
        Assert.Equal("upstream_error", tool.StreamError?.Code);

        _a.EnqueueFault(new BrokenStream(5));
        var logprobs = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat(logprobs: true));
        Assert.Equal("upstream_error", logprobs.StreamError?.Code);
    }

    [Fact]
    public async Task Streams_cut_at_random_points_recover_with_the_exact_text_and_the_figures_are_printed()
    {
        var (runtime, usage, key) = await Gateway(idle: 0.3);
        var random = new Random(2026);
        const int Streams = 120;
        var recovered = 0;
        var exact = 0;
        var kinds = new[] { "reset", "error event", "stall" };
        for (var i = 0; i < Streams; i++)
        {
            var fault = Fault(kinds[i % 3], random.Next(1, 60));
            _a.EnqueueFault(fault);
            var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Chat());
            if (sent.StreamError is null) recovered++;
            else output.WriteLine($"not recovered: {fault} -> {sent.StreamError.Code}: {sent.StreamError.Message}");
            if (sent.StreamedContent() == Whole) exact++;
        }

        // break → first content of the continuation, from the usage records' recovery notes
        var times = usage.Records.Where(r => r.StreamRecovery is not null)
            .Select(r => double.Parse(r.StreamRecovery!.Split(" in ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        var p50 = times[times.Count / 2];
        var p95 = times[(int)Math.Ceiling(times.Count * 0.95) - 1];
        output.WriteLine($"stream recovery over real sockets: {recovered}/{Streams} recovered ({100.0 * recovered / Streams:F1} %), {exact} with the exact uninterrupted text; " +
            $"time from break to continuation p50 {p50} ms, p95 {p95} ms, max {times[^1]} ms (stalls are detected after the 0.3 s idle timeout, counted before this)");
        Assert.True(recovered >= Streams * 95 / 100, $"{recovered} of {Streams} recovered");
        Assert.Equal(recovered, exact);
    }
}
