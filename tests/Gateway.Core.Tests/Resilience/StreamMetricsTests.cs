using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Telemetry;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Resilience;

/// <summary>A stream's pace on its usage record and as meters: time to first token, inter-token latency, duration, tokens per second.</summary>
[Trait("Category", "Pipeline")]
public sealed class StreamMetricsTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    private readonly HttpClient _http = new();

    /// <summary>A gateway with one OpenAI deployment on the fake upstream, and a key for it.</summary>
    private async Task<(GatewayRuntime Runtime, string Key)> Gateway(InMemoryUsageSink usage, GatewayMetrics? metrics = null)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => _http, TimeProvider.System, usage: usage, metrics: metrics, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, key);
    }

    [Fact]
    public async Task A_paced_stream_s_record_and_meters_carry_its_pace()
    {
        var usage = new InMemoryUsageSink();
        using var metrics = new GatewayMetrics();
        var measured = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // this test's meter only: tests running alongside publish to meters of the same name
            if (instrument.Meter == metrics.Meter) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            lock (measured) measured.Add((instrument.Name, value));
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measured) measured.Add((instrument.Name, value));
        });
        listener.Start();
        var (runtime, key) = await Gateway(usage, metrics);
        _upstream.ChunkDelay = TimeSpan.FromMilliseconds(15);
        _upstream.Enqueue(new FakeReply { Text = string.Join(' ', Enumerable.Range(0, 30).Select(i => $"w{i}")), CompletionTokens = 30 });

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), """{"model":"m","stream":true,"messages":[{"role":"user","content":"pace"}]}""");
        Assert.Null(sent.StreamError);

        var record = Assert.Single(usage.Records);
        Assert.NotNull(record.TimeToFirstTokenMs);
        // the gaps as the gateway saw them: on a loaded machine chunks sent 15 ms apart can be read together, and the
        // median gap is then 0.0 ms (Timing_is_computed_from_the_moments_chunks_went_out pins the arithmetic with a fake clock)
        Assert.True(record.InterTokenP50Ms >= 0);
        Assert.True(record.InterTokenP95Ms >= record.InterTokenP50Ms);
        Assert.True(record.StreamDurationMs >= record.TimeToFirstTokenMs);
        Assert.True(record.OutputTokensPerSecond > 0);
        List<(string Name, double Value)> seen;
        lock (measured) seen = [.. measured];
        foreach (var name in new[] { "gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token", "llm_gateway.stream.duration", "llm_gateway.stream.output_tokens_per_second" })
            Assert.Contains(seen, m => m.Name == name);
    }

    [Fact]
    public void Timing_is_computed_from_the_moments_chunks_went_out()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var timing = new StreamTiming(time.GetTimestamp(), time);
        time.Advance(TimeSpan.FromMilliseconds(300));
        timing.Token();
        foreach (var gap in new[] { 10, 10, 10, 10, 10, 10, 10, 10, 10, 100 })
        {
            time.Advance(TimeSpan.FromMilliseconds(gap));
            timing.Token();
        }

        timing.End();
        Assert.Equal((300L, 10.0, 100.0, 490L), (timing.TimeToFirstTokenMs, timing.InterTokenP50Ms, timing.InterTokenP95Ms, timing.DurationMs));
        Assert.Equal(57.9, timing.OutputTokensPerSecond(11));
    }

    [Fact]
    public void A_long_stream_s_pace_is_counted_in_a_histogram_past_the_exact_gaps()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var timing = new StreamTiming(time.GetTimestamp(), time);
        timing.Token();
        // 20,000 gaps, far past the exact ones: 19,000 of 2 ms, then 1,000 of 250 ms (the 95th percentile's rank is 19,000)
        for (var i = 0; i < 20_000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(i < 19_000 ? 2 : 250));
            timing.Token();
        }

        timing.End();
        // each within its bucket: 0.1 ms wide below 10 ms, a tenth of the decade (10 ms) between 100 ms and 1 s
        Assert.InRange(timing.InterTokenP50Ms!.Value, 2.0, 2.1);
        Assert.InRange(timing.InterTokenP95Ms!.Value, 2.0, 2.1);
        time.Advance(TimeSpan.FromMilliseconds(250));
        timing.Token();
        Assert.InRange(timing.InterTokenP95Ms!.Value, 250, 260);
        Assert.InRange(timing.InterTokenP50Ms!.Value, 2.0, 2.1);
    }

    [Fact]
    public void A_histogram_bucket_past_65535_gaps_widens_its_counts_and_loses_none()
    {
        var histogram = new GapHistogram();
        for (var i = 0; i < 70_000; i++) histogram.Add(2.02f);
        for (var i = 0; i < 1_000; i++) histogram.Add(250f);
        Assert.True(histogram.Wide);
        // 71,000 gaps: the 95th percentile's rank (67,450) is past the 16-bit counts' end, and still a 2 ms gap
        Assert.InRange(histogram.Percentile(0.95), 2.0, 2.1);
        // 5,000 more of 250 ms: rank 72,200 of 76,000 is past the 70,000 gaps of 2 ms, so every one of them was counted
        for (var i = 0; i < 5_000; i++) histogram.Add(250f);
        Assert.InRange(histogram.Percentile(0.95), 250, 260);
        Assert.InRange(histogram.Percentile(0.92), 2.0, 2.1);
        Assert.InRange(histogram.Percentile(0.93), 250, 260);
    }

    [Fact]
    public void A_histogram_keeps_16_bit_counts_while_every_bucket_fits()
    {
        var histogram = new GapHistogram();
        for (var i = 0; i < 65_535; i++) histogram.Add(2.02f);
        Assert.False(histogram.Wide);
        Assert.InRange(histogram.Percentile(1.0), 2.0, 2.1);
        histogram.Add(2.02f);
        Assert.True(histogram.Wide);
    }

    /// <summary>A client that reads <paramref name="accepts"/> writes, then nothing.</summary>
    private sealed class StuckClient(int accepts) : MemoryStream
    {
        private int _writes;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _writes) > accepts) await Task.Delay(Timeout.Infinite, cancellationToken);
            await base.WriteAsync(buffer, cancellationToken);
        }
    }

    /// <summary>As Kestrel: a write cancelled while it waits on the client aborts the connection, which cancels the request's token.</summary>
    private sealed class AbortingOnCancelClient(CancellationTokenSource request) : MemoryStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await request.CancelAsync();
                throw;
            }
        }
    }

    [Fact]
    public async Task A_write_timeout_is_reported_as_too_slow_even_when_the_server_aborts_the_connection_for_it()
    {
        using var request = new CancellationTokenSource();
        var ended = await ChatStreamWriter.WriteAsync(new Gateway.Core.Caching.ReplayStream(
                new JsonObject { ["id"] = "c", ["model"] = "m", ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "hi" }, ["finish_reason"] = "stop" }) },
                new Gateway.Core.Protocol.TokenUsage(1, 1)),
            new AbortingOnCancelClient(request), includeUsage: false, request.Token, TimeSpan.FromMilliseconds(200));
        Assert.True(request.IsCancellationRequested);
        Assert.Equal((0, ChatStreamWriter.ClientTooSlowCode), (ended.Chunks, ended.Error?.Code));
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_dropped_after_the_write_timeout_and_the_upstream_call_ends_with_it()
    {
        var usage = new InMemoryUsageSink();
        var (runtime, key) = await Gateway(usage);
        _upstream.ChunkDelay = TimeSpan.FromMilliseconds(20);
        _upstream.Enqueue(new FakeReply { Text = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"w{i}")) });
        var body = System.Text.Encoding.UTF8.GetBytes("""{"model":"m","stream":true,"messages":[{"role":"user","content":"long"}]}""");
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        var streaming = Assert.IsType<GatewayResult.Streaming>(outcome.Result);

        StreamOutcome ended;
        await using (streaming.Stream)
        {
            ended = await ChatStreamWriter.WriteAsync(streaming.Stream, new StuckClient(accepts: 5), includeUsage: false, default, TimeSpan.FromMilliseconds(300));
            if (ended.Error?.Code == ChatStreamWriter.ClientTooSlowCode) context.ClientTooSlow = true;
        }

        await context.CompleteAsync();
        Assert.Equal((5, ChatStreamWriter.ClientTooSlowCode), (ended.Chunks, ended.Error?.Code));
        // the upstream call ends with the stream: its server sees the connection go while it still has text to send
        for (var i = 0; i < 100 && _upstream.AbandonedCount == 0; i++) await Task.Delay(50);
        Assert.Equal(1, _upstream.AbandonedCount);
        var record = Assert.Single(usage.Records);
        Assert.Equal((UsageOutcomes.ClientClosed, ChatStreamWriter.ClientTooSlowCode), (record.Outcome, record.ErrorCode));
        // billed for what was produced and relayed
        Assert.True(record.CompletionTokens > 0);
    }
}
