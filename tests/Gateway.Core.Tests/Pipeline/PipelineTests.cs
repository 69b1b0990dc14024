using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.Routing;
using Microsoft.Extensions.Time.Testing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Pipeline;

[Trait("Category", "Pipeline")]
public sealed class PipelineTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);

    private sealed class Headers(params (string Name, string Value)[] values) : IRequestHeaders
    {
        public string? Get(string name) => values.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
    }

    private GatewayContext Context(IRequestHeaders? headers = null, string body = "", long? contentLength = null, CancellationToken aborted = default) =>
        new("req_test", headers ?? new Headers(), new MemoryStream(Encoding.UTF8.GetBytes(body)), contentLength, _time, aborted);

    private static readonly JsonObject Done = new() { ["done"] = true };

    /// <summary>A stage that records when it runs, before and after the rest of the pipeline.</summary>
    private sealed class Recorder(string name, List<string> log, bool callNext = true, Func<GatewayContext, ValueTask>? act = null) : IGatewayStage
    {
        public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
        {
            log.Add(name + ">");
            if (act is not null) await act(context);
            if (!callNext)
            {
                log.Add(name + " answered");
                return new GatewayResult.Completion(new JsonObject { ["from"] = name }, null);
            }
            var result = await next(context);
            log.Add("<" + name);
            return result;
        }
    }

    private sealed class Throwing(Exception ex) : IGatewayStage
    {
        public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next) => throw ex;
    }

    // ---- GatewayPipeline ----

    [Fact]
    public async Task Stages_run_in_order_and_unwind_in_reverse()
    {
        var log = new List<string>();
        var pipeline = new GatewayPipeline([new Recorder("a", log), new Recorder("b", log), new Recorder("c", log, callNext: false)]);
        var result = await pipeline.RunAsync(Context());
        Assert.Equal(["a>", "b>", "c>", "c answered", "<b", "<a"], log);
        Assert.Equal("c", (string?)Assert.IsType<GatewayResult.Completion>(result).Body["from"]);
        Assert.Equal(3, pipeline.Stages.Count);
    }

    [Fact]
    public async Task A_stage_that_answers_short_circuits_the_rest()
    {
        var log = new List<string>();
        var pipeline = new GatewayPipeline([new Recorder("a", log), new Recorder("cache", log, callNext: false), new Recorder("never", log)]);
        var result = await pipeline.RunAsync(Context());
        Assert.Equal(["a>", "cache>", "cache answered", "<a"], log);
        Assert.Equal("cache", (string?)((GatewayResult.Completion)result).Body["from"]);
    }

    [Fact]
    public async Task A_stage_that_throws_stops_the_pipeline_and_the_error_unwinds()
    {
        var log = new List<string>();
        var pipeline = new GatewayPipeline([new Recorder("a", log), new Throwing(Errors.Errors.ModelNotFound("x")), new Recorder("never", log)]);
        var ex = await Assert.ThrowsAsync<GatewayException>(async () => await pipeline.RunAsync(Context()));
        Assert.Equal(404, ex.Error.Status);
        Assert.Equal(["a>"], log);
    }

    [Fact]
    public async Task A_pipeline_without_a_terminal_stage_fails_loudly()
    {
        var log = new List<string>();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await new GatewayPipeline([new Recorder("a", log)]).RunAsync(Context()));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await new GatewayPipeline([]).RunAsync(Context()));
    }

    // ---- ChatCompletionService: headers and error mapping ----

    [Fact]
    public async Task The_request_id_and_latency_are_set_on_success()
    {
        var service = new ChatCompletionService(new GatewayPipeline([new Recorder("slow", [], callNext: false, act: _ => { _time.Advance(TimeSpan.FromMilliseconds(250.7)); return ValueTask.CompletedTask; })]));
        var context = Context();
        var outcome = await service.HandleAsync(context);
        Assert.NotNull(outcome.Result);
        Assert.Null(outcome.Error);
        Assert.Equal("req_test", context.ResponseHeaders["x-request-id"]);
        Assert.Equal("250", context.ResponseHeaders["X-Gateway-Latency-Ms"]);
    }

    [Fact]
    public async Task A_gateway_error_becomes_the_outcome_with_the_request_id_still_set()
    {
        var service = new ChatCompletionService(new GatewayPipeline([new Throwing(Errors.Errors.InvalidKey())]));
        var context = Context();
        var outcome = await service.HandleAsync(context);
        Assert.Null(outcome.Result);
        Assert.Equal(new GatewayError(401, "Incorrect API key provided. The key is unknown or has been revoked.", "invalid_request_error", null, "invalid_api_key"), outcome.Error);
        Assert.Equal("req_test", context.ResponseHeaders[GatewayHeaders.RequestId]);
        Assert.Equal("0", context.ResponseHeaders[GatewayHeaders.Latency]);
        Assert.False(context.ResponseHeaders.ContainsKey(GatewayHeaders.RetryAfter));
    }

    [Fact]
    public async Task A_rate_limit_sets_retry_after()
    {
        var service = new ChatCompletionService(new GatewayPipeline([new Throwing(Errors.Errors.UpstreamRateLimited(17, "openai"))]));
        var context = Context();
        var outcome = await service.HandleAsync(context);
        Assert.Equal(429, outcome.Error!.Status);
        Assert.Equal("rate_limit_exceeded", outcome.Error.Type);
        Assert.Equal("17", context.ResponseHeaders["retry-after"]);
    }

    [Fact]
    public async Task A_client_that_went_away_is_499()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var service = new ChatCompletionService(new GatewayPipeline([new Throwing(new OperationCanceledException(cts.Token))]));
        var outcome = await service.HandleAsync(Context(aborted: cts.Token));
        Assert.Equal(new GatewayError(499, "The client closed the request.", "invalid_request_error", null, "client_closed_request"), outcome.Error);
    }

    [Fact]
    public async Task A_cancellation_the_client_did_not_cause_and_other_bugs_propagate()
    {
        var service = new ChatCompletionService(new GatewayPipeline([new Throwing(new OperationCanceledException())]));
        await Assert.ThrowsAsync<OperationCanceledException>(() => service.HandleAsync(Context()));
        var buggy = new ChatCompletionService(new GatewayPipeline([new Throwing(new NullReferenceException())]));
        await Assert.ThrowsAsync<NullReferenceException>(() => buggy.HandleAsync(Context()));
    }

    [Fact]
    public async Task An_exception_that_is_not_a_gateway_error_is_recorded_as_the_500_the_client_gets_never_a_success()
    {
        var sink = new Gateway.Core.Usage.InMemoryUsageSink();
        var meter = new Gateway.Core.Pricing.PricingCostMeter(new Gateway.Core.Pricing.PriceCatalogHolder(Gateway.Core.Pricing.PriceCatalog.Default), new Gateway.Core.Pricing.InMemoryVolumeTracker());
        var service = new ChatCompletionService(new GatewayPipeline([new Gateway.Core.Usage.UsageStage(sink, meter, new GatewayOptions()), new Throwing(new InvalidOperationException("a bug"))]));
        var context = Context();
        await Assert.ThrowsAsync<InvalidOperationException>(() => service.HandleAsync(context));
        await context.CompleteAsync();

        var record = Assert.Single(sink.Records);
        Assert.Equal(Errors.Errors.For(new InvalidOperationException()).Status, record.Status);
        Assert.Equal(500, record.Status);
        Assert.Equal("internal_error", record.ErrorCode);
        Assert.Equal(Gateway.Core.Usage.UsageOutcomes.Error, record.Outcome);
    }

    [Theory]
    [InlineData("priority", 400, "unsupported_value")]
    [InlineData("flex", 400, "unsupported_value")]
    [InlineData("scale", 400, "unsupported_value")]
    [InlineData("turbo", 400, "invalid_value")]
    [InlineData("default", 0, null)]
    [InlineData("auto", 0, null)]
    public async Task A_service_tier_the_price_catalog_cannot_price_is_refused_before_it_is_sent(string tier, int status, string? code)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" }],
                Models = [new ModelOptions { Name = "mock-1", Deployments = ["mock"] }],
            },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), _time, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, "t", [], new Dictionary<string, string>()), default);
        var outcome = (await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), $$"""{"model":"mock-1","service_tier":"{{tier}}","messages":[{"role":"user","content":"hi"}]}""")).Outcome;
        if (status == 0)
        {
            Assert.Null(outcome.Error);
            return;
        }

        Assert.Equal(status, outcome.Error!.Status);
        Assert.Equal(code, outcome.Error.Code);
        Assert.Equal("service_tier", outcome.Error.Param);
    }

    [Theory]
    [InlineData("abc-123")]
    [InlineData("!~")]
    public void A_sane_client_request_id_is_echoed(string id)
    {
        Assert.Equal(id, GatewayHeaders.RequestIdFrom(id));
    }

    [Fact]
    public void Request_ids_may_have_up_to_128_characters()
    {
        var longest = new string('r', 128);
        Assert.Equal(longest, GatewayHeaders.RequestIdFrom(longest));
        Assert.Matches("^req_[0-9a-f]{32}$", GatewayHeaders.RequestIdFrom(longest + "r"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\there")]
    [InlineData("new\nline")]
    [InlineData("ümlaut")]
    [InlineData("del\u007f")]
    public void Otherwise_a_new_request_id_is_generated(string? id)
    {
        var generated = GatewayHeaders.RequestIdFrom(id);
        Assert.Matches("^req_[0-9a-f]{32}$", generated);
        Assert.NotEqual(generated, GatewayHeaders.RequestIdFrom(id));
    }

    // ---- error bodies ----

    [Fact]
    public void Error_bodies_have_openai_shape_with_explicit_nulls()
    {
        Assert.Equal("""{"error":{"message":"bad role","type":"invalid_request_error","param":"messages[0].role","code":"invalid_value"}}""",
            Encoding.UTF8.GetString(new GatewayError(400, "bad role", "invalid_request_error", "messages[0].role", "invalid_value").ToJsonBytes()));
        const string tricky = "Invalid value: 'x\"y'.\n<é>";
        Assert.Equal(tricky, (string?)JsonNode.Parse(new GatewayError(400, tricky, "invalid_request_error").ToJsonBytes())!["error"]!["message"]);
        Assert.Equal("""{"error":{"message":"x","type":"api_error","param":null,"code":null}}""",
            Encoding.UTF8.GetString(new GatewayError(502, "x", "api_error").ToJsonBytes()));
    }

    /// <summary>
    /// Each error by its factory's name. The theory's rows start with that name (a string, which xunit can serialise),
    /// so each row is a test case of its own (to the runner and to Stryker's coverage per test) instead of one test for
    /// the whole table.
    /// </summary>
    private static readonly Dictionary<string, Func<GatewayException>> ErrorNamed = new()
    {
        ["InvalidJson"] = () => Errors.Errors.InvalidJson("detail"),
        ["PayloadTooLarge"] = () => Errors.Errors.PayloadTooLarge(1024),
        ["MissingKey"] = () => Errors.Errors.MissingKey(),
        ["InvalidKey"] = () => Errors.Errors.InvalidKey(),
        ["ModelNotAllowed"] = () => Errors.Errors.ModelNotAllowed("m"),
        ["ModelNotFound"] = () => Errors.Errors.ModelNotFound("m"),
        ["MethodNotAllowed"] = () => Errors.Errors.MethodNotAllowed("PUT"),
        ["UnsupportedParameter"] = () => Errors.Errors.UnsupportedParameter("n", "no"),
        ["UpstreamRateLimited"] = () => Errors.Errors.UpstreamRateLimited(null, "p"),
        ["UpstreamError"] = () => Errors.Errors.UpstreamError("p", 503),
        ["UpstreamBadRequest"] = () => Errors.Errors.UpstreamBadRequest("p", "bad"),
        ["UpstreamTimeout"] = () => Errors.Errors.UpstreamTimeout("p", TimeSpan.FromSeconds(1.5)),
        ["UpstreamProtocol"] = () => Errors.Errors.UpstreamProtocol("p", "d"),
        ["Internal"] = () => Errors.Errors.Internal(),
    };

    public static TheoryData<string, int, string, string?, string> ErrorTable() => new()
    {
        { "InvalidJson", 400, "invalid_request_error", null, "invalid_json" },
        { "PayloadTooLarge", 413, "invalid_request_error", null, "request_too_large" },
        { "MissingKey", 401, "invalid_request_error", null, "missing_api_key" },
        { "InvalidKey", 401, "invalid_request_error", null, "invalid_api_key" },
        { "ModelNotAllowed", 403, "permission_error", "model", "model_not_allowed" },
        { "ModelNotFound", 404, "invalid_request_error", "model", "model_not_found" },
        { "MethodNotAllowed", 405, "invalid_request_error", null, "method_not_allowed" },
        { "UnsupportedParameter", 400, "invalid_request_error", "n", "unsupported_parameter" },
        { "UpstreamRateLimited", 429, "rate_limit_exceeded", null, "rate_limit_exceeded" },
        { "UpstreamError", 502, "api_error", null, "upstream_error" },
        { "UpstreamBadRequest", 400, "invalid_request_error", null, "upstream_invalid_request" },
        { "UpstreamTimeout", 504, "timeout", null, "upstream_timeout" },
        { "UpstreamProtocol", 502, "api_error", null, "upstream_protocol_error" },
        { "Internal", 500, "api_error", null, "internal_error" },
    };

    [Theory]
    [MemberData(nameof(ErrorTable))]
    public void Each_error_has_openais_status_type_and_code(string error, int status, string type, string? param, string code)
    {
        var ex = ErrorNamed[error]();
        Assert.Equal(status, ex.Error.Status);
        Assert.Equal(type, ex.Error.Type);
        Assert.Equal(param, ex.Error.Param);
        Assert.Equal(code, ex.Error.Code);
        Assert.Equal(ex.Error.Message, ex.Message);
    }

    [Fact]
    public void Every_named_error_is_a_row()
    {
        var rows = ((IEnumerable<object[]>)ErrorTable()).Select(row => (string)row[0]).ToList();
        Assert.Equal(ErrorNamed.Keys.Order(), rows.Order());
    }

    [Fact]
    public void Error_messages_carry_their_details()
    {
        Assert.Equal("The request body exceeds the maximum of 1024 bytes.", Errors.Errors.PayloadTooLarge(1024).Message);
        Assert.Equal("The upstream provider (p) returned an error (HTTP 503).", Errors.Errors.UpstreamError("p", 503).Message);
        Assert.Equal("The upstream provider (p) did not answer within 1.5 s.", Errors.Errors.UpstreamTimeout("p", TimeSpan.FromSeconds(1.5)).Message);
        Assert.Equal(9, Errors.Errors.UpstreamRateLimited(9, "p").Error.RetryAfterSeconds);
    }

    // ---- request body ----

    [Fact]
    public async Task A_declared_length_over_the_limit_is_413_and_the_body_is_drained_not_kept()
    {
        // a proxy in front (the Functions host) can only deliver the 413 once it has finished sending the body
        var body = new CountingStream(new MemoryStream(new byte[5_000_000]));
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await RequestBody.ReadAsync(body, 5_000_000, 100, default))).Error;
        Assert.Equal(new GatewayError(413, "The request body exceeds the maximum of 100 bytes.", "invalid_request_error", null, "request_too_large"), error);
        Assert.Equal(5_000_000, body.BytesRead);
        Assert.True(body.LargestRead <= 64 * 1024, $"read {body.LargestRead} bytes at once");
    }

    [Fact]
    public async Task A_body_announced_large_but_sent_small_holds_memory_for_what_arrived()
    {
        var body = new CountingStream(new MemoryStream(new byte[1000]));
        var bytes = await RequestBody.ReadAsync(body, 8_000_000, 8_000_000, default);
        Assert.Equal(1000, bytes.Length);
        Assert.True(body.LargestRead <= 32 * 1024, $"a buffer of {body.LargestRead} bytes was offered for a 1,000-byte body");
    }

    /// <summary>Counts what is read from it and the largest buffer a read was offered.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead;
        public int LargestRead;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count)
        {
            LargestRead = Math.Max(LargestRead, count);
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            LargestRead = Math.Max(LargestRead, buffer.Length);
            var n = inner.Read(buffer.Span);
            BytesRead += n;
            return ValueTask.FromResult(n);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(null)]
    [InlineData(10L)]
    public async Task A_body_over_the_limit_is_413_even_without_or_with_a_wrong_length(long? declared)
    {
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await RequestBody.ReadAsync(new MemoryStream(new byte[40_001]), declared, 40_000, default))).Error;
        Assert.Equal(413, error.Status);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1, null)]
    [InlineData(300, 300L)]
    [InlineData(40_000, null)]
    [InlineData(40_000, 5L)]
    [InlineData(40_000, 40_000L)]
    public async Task A_body_up_to_the_limit_is_read_exactly(int size, long? declared)
    {
        var bytes = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(bytes, await RequestBody.ReadAsync(new MemoryStream(bytes), declared, 40_000, default));
    }

    // ---- RequestParsingStage ----

    private static readonly GatewayHandler Terminal = _ => ValueTask.FromResult<GatewayResult>(new GatewayResult.Completion(Done, null));

    private static GatewayPrincipal Principal(string? user = "key-user") => new("key_1", "k", user, "team", [], new Dictionary<string, string>());

    [Theory]
    [InlineData(""","user":"body-user" """, "header-user", "body-user")]
    [InlineData("", "  header-user  ", "header-user")]
    [InlineData("", "   ", "key-user")]
    [InlineData("", null, "key-user")]
    public async Task The_end_user_is_the_body_user_then_the_header_then_the_keys_user(string extra, string? header, string expected)
    {
        var stage = new RequestParsingStage(new GatewayOptions());
        var headers = header is null ? new Headers() : new Headers(("x-gateway-user", header));
        var context = Context(headers, $$"""{"model":"m","messages":[{"role":"user","content":"hi"}]{{extra}}}""");
        context.Principal = Principal();
        await stage.InvokeAsync(context, Terminal);
        Assert.Equal(expected, context.EndUser);
        Assert.Equal("m", context.Request?.Model);
    }

    [Fact]
    public async Task The_user_header_name_is_configurable()
    {
        var stage = new RequestParsingStage(new GatewayOptions { UserHeader = "x-end-user" });
        var context = Context(new Headers(("x-gateway-user", "ignored"), ("x-end-user", "chosen")), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        await stage.InvokeAsync(context, Terminal);
        Assert.Equal("chosen", context.EndUser);
    }

    [Fact]
    public async Task The_parsing_stage_refuses_large_bodies_with_413_and_bad_ones_with_400()
    {
        var stage = new RequestParsingStage(new GatewayOptions { MaxRequestBodyBytes = 50 });
        var big = Context(body: $$"""{"model":"m","messages":[{"role":"user","content":"{{new string('x', 100)}}"}]}""");
        Assert.Equal(413, (await Assert.ThrowsAsync<GatewayException>(async () => await stage.InvokeAsync(big, Terminal))).Error.Status);

        var bad = Context(body: """{"model":1}""");
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await new RequestParsingStage(new GatewayOptions()).InvokeAsync(bad, Terminal))).Error;
        Assert.Equal((400, "model", "invalid_type"), (error.Status, error.Param, error.Code));
        Assert.Null(bad.Request);
    }

    // ---- the assembled gateway ----

    private const string GoodKey = "sk-gw-good";
    private const string LimitedKey = "sk-gw-limited";

    private async Task<GatewayRuntime> Runtime(long maxBody = 8 * 1024 * 1024)
    {
        var options = new GatewayOptions
        {
            MaxRequestBodyBytes = maxBody,
            Catalog = new CatalogOptions
            {
                Deployments =
                [
                    new DeploymentOptions { Name = "mock-a", Provider = "Mock", MockLatencyMs = 0, MockCompletionTokens = 3 },
                    new DeploymentOptions { Name = "mock-b", Provider = "mock", Priority = 1 },
                ],
                Models =
                [
                    new ModelOptions { Name = "mock-1", Aliases = ["m1"], Deployments = ["mock-a", "mock-b"] },
                    new ModelOptions { Name = "mock-2", Deployments = ["mock-b"] },
                ],
            },
        };
        var keys = new InMemoryKeyStore();
        var runtime = new GatewayRuntime(options, TestSecrets.None, keys, _ => throw new InvalidOperationException("no http"), _time, selector: new DeploymentSelector(_ => 0), features: TestFeatures.Current);
        await runtime.Keys.EnsureKeyAsync(GoodKey, "good", default);
        var hash = KeyHasher.Hash(LimitedKey);
        await keys.AddAsync(new GatewayKeyRecord("key_limited", hash, "sk-gw-lim…", "limited", "u", "t", ["mock-2"], new Dictionary<string, string>(), Start), default);
        return runtime;
    }

    private GatewayContext Call(string? key, string body, params (string, string)[] headers) =>
        Context(new Headers([.. headers, .. key is null ? Array.Empty<(string, string)>() : [("Authorization", "Bearer " + key)]]), body, Encoding.UTF8.GetByteCount(body));

    [Fact]
    public async Task The_runtime_wires_the_core_stages_in_order_with_the_provider_last()
    {
        var runtime = await Runtime();
        var types = runtime.Pipeline.Stages.Select(s => s.GetType()).ToList();
        // other stages (usage, cost) may sit between these; the four core stages keep their relative order
        Type[] core = [typeof(AuthenticationStage), typeof(RequestParsingStage), typeof(ModelResolutionStage), typeof(ProviderStage)];
        Assert.Equal(core, types.Where(core.Contains));
        Assert.Equal(typeof(ProviderStage), types[^1]);
    }

    [Fact]
    public async Task A_request_through_the_runtime_gets_a_completion_and_routing_headers()
    {
        var runtime = await Runtime();
        var context = Call(GoodKey, """{"model":"m1","messages":[{"role":"user","content":"hi"}]}""", ("x-gateway-user", "alice"));
        var outcome = await runtime.ChatCompletions.HandleAsync(context);

        var completion = Assert.IsType<GatewayResult.Completion>(outcome.Result);
        Assert.Equal("chat.completion", (string?)completion.Body["object"]);
        Assert.Equal(3, completion.Usage!.Value.CompletionTokens);
        Assert.Equal("mock-1", context.ResponseHeaders["x-gateway-model"]);
        Assert.Equal("mock", context.ResponseHeaders["x-gateway-provider"]);
        Assert.Equal("mock-a", context.ResponseHeaders["x-gateway-deployment"]);
        Assert.Equal("0", context.ResponseHeaders["x-gateway-upstream-latency-ms"]);
        Assert.Equal("0", context.ResponseHeaders["x-gateway-latency-ms"]);
        Assert.Equal("req_test", context.ResponseHeaders["x-request-id"]);
        Assert.Equal("alice", context.EndUser);
        Assert.Equal("key_dev", context.Principal?.KeyId);
        Assert.Equal("mock-a", context.Deployment?.Name);
        Assert.Equal(TimeSpan.Zero, context.UpstreamLatency);
    }

    [Fact]
    public async Task Upstream_latency_is_measured_on_the_time_provider()
    {
        var runtime = await Runtime();
        runtime.Catalog.Resolve("mock-1").Deployments[0].MockLatencyMs = 1500;
        var context = Call(GoodKey, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""");
        var pending = runtime.ChatCompletions.HandleAsync(context);
        Assert.False(pending.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(outcome.Result);
        Assert.Equal("1500", context.ResponseHeaders[GatewayHeaders.UpstreamLatency]);
        Assert.Equal("1500", context.ResponseHeaders[GatewayHeaders.Latency]);
    }

    [Fact]
    public async Task A_streaming_request_returns_an_open_stream_that_writes_as_sse()
    {
        var runtime = await Runtime();
        var context = Call(GoodKey, """{"model":"mock-1","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        var streaming = Assert.IsType<GatewayResult.Streaming>(outcome.Result);
        await using var stream = streaming.Stream;
        using var output = new MemoryStream();
        var written = await ChatStreamWriter.WriteAsync(stream, output, context.Request!.IncludeUsage, default);
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(1 + 3 + 1, written.Chunks);
        Assert.EndsWith("\n\ndata: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"usage\"", text, StringComparison.Ordinal);
        Assert.NotNull(stream.Usage);
    }

    public static TheoryData<string?, string, int, string, string?> Refusals() => new()
    {
        { null, """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", 401, "missing_api_key", null },
        { "sk-gw-wrong", """{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}""", 401, "invalid_api_key", null },
        // authentication runs before the body is read: a bad body without a key is still a 401
        { null, "{not json", 401, "missing_api_key", null },
        { GoodKey, "{not json", 400, "invalid_json", null },
        { GoodKey, """{"model":"mock-1","messages":[{"role":"robot","content":"hi"}]}""", 400, "invalid_value", "messages[0].role" },
        { GoodKey, """{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", 404, "model_not_found", "model" },
        { LimitedKey, """{"model":"m1","messages":[{"role":"user","content":"hi"}]}""", 403, "model_not_allowed", "model" },
        // an unknown model is a 404 even for a key limited to other models
        { LimitedKey, """{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", 404, "model_not_found", "model" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refusals_become_openai_errors_with_the_request_id(string? key, string body, int status, string code, string? param)
    {
        var runtime = await Runtime();
        var context = Call(key, body);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        Assert.Null(outcome.Result);
        Assert.Equal((status, code, param), (outcome.Error!.Status, outcome.Error.Code, outcome.Error.Param));
        Assert.Equal("req_test", context.ResponseHeaders["x-request-id"]);
        Assert.True(context.ResponseHeaders.ContainsKey(GatewayHeaders.Latency));
        Assert.False(context.ResponseHeaders.ContainsKey(GatewayHeaders.Deployment));
    }

    [Fact]
    public async Task A_limited_key_may_use_its_model()
    {
        var runtime = await Runtime();
        var context = Call(LimitedKey, """{"model":"mock-2","messages":[{"role":"user","content":"hi"}]}""");
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        Assert.NotNull(outcome.Result);
        Assert.Equal("mock-b", context.ResponseHeaders[GatewayHeaders.Deployment]);
        Assert.Equal("u", context.EndUser);
    }

    [Fact]
    public async Task An_oversized_body_is_413_through_the_runtime()
    {
        var runtime = await Runtime(maxBody: 64);
        var body = $$"""{"model":"mock-1","messages":[{"role":"user","content":"{{new string('a', 100)}}"}]}""";
        var outcome = await runtime.ChatCompletions.HandleAsync(Call(GoodKey, body));
        Assert.Equal((413, "request_too_large"), (outcome.Error!.Status, outcome.Error.Code));
    }

    [Fact]
    public async Task Provider_refusals_are_mapped_and_the_chosen_deployment_is_still_reported()
    {
        var runtime = await Runtime();
        runtime.Catalog.Resolve("mock-1").Deployments[0].Provider = "anthropic";
        runtime.Catalog.Resolve("mock-1").Deployments[0].Name = "claude-x";
        var context = Call(GoodKey, """{"model":"mock-1","n":2,"messages":[{"role":"user","content":"hi"}]}""");
        var outcome = await new ChatCompletionService(new GatewayPipeline(
        [
            new AuthenticationStage(runtime.KeyAuthenticator),
            new RequestParsingStage(runtime.Options),
            new ModelResolutionStage(runtime.Catalog),
            new ProviderStage(new DeploymentSelector(_ => 0), new Gateway.Core.Providers.ProviderRegistry(_ => new HttpClient(), TestSecrets.None, _time)),
        ])).HandleAsync(context);
        Assert.Equal((400, "unsupported_parameter", "n"), (outcome.Error!.Status, outcome.Error.Code, outcome.Error.Param));
        Assert.Equal("anthropic", context.ResponseHeaders[GatewayHeaders.Provider]);
        Assert.Equal("claude-x", context.ResponseHeaders[GatewayHeaders.Deployment]);
        Assert.Equal("0", context.ResponseHeaders[GatewayHeaders.UpstreamLatency]);
    }

    // ---- context ----

    [Fact]
    public async Task Completion_callbacks_run_once_each_even_when_one_fails()
    {
        var context = Context();
        var ran = new List<int>();
        context.OnCompleted(() => { ran.Add(1); return ValueTask.CompletedTask; });
        context.OnCompleted(() => throw new InvalidOperationException("first"));
        context.OnCompleted(() => { ran.Add(3); return ValueTask.CompletedTask; });
        context.OnCompleted(() => ValueTask.FromException(new IOException("second")));

        var ex = await Assert.ThrowsAsync<AggregateException>(async () => await context.CompleteAsync());
        Assert.Equal([1, 3], ran);
        Assert.Equal(["first", "second"], ex.InnerExceptions.Select(e => e.Message));
        await context.CompleteAsync();
        Assert.Equal([1, 3], ran);
    }

    [Fact]
    public void Required_parts_of_the_context_say_which_stage_is_missing()
    {
        var context = Context();
        Assert.Equal("The authentication stage has not run.", Assert.Throws<InvalidOperationException>(() => context.RequirePrincipal()).Message);
        Assert.Equal("The parsing stage has not run.", Assert.Throws<InvalidOperationException>(() => context.RequireRequest()).Message);
        Assert.Equal("The model resolution stage has not run.", Assert.Throws<InvalidOperationException>(() => context.RequireModel()).Message);
        Assert.Equal(Start, context.ReceivedAt);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), context.Elapsed);
    }

    // ---- /v1/models ----

    [Fact]
    public async Task The_model_list_shows_names_and_aliases_the_key_may_use()
    {
        var runtime = await Runtime();
        var all = ModelListing.For(Principal(), runtime.Catalog, Start);
        Assert.Equal(["mock-1", "m1", "mock-2"], all["data"]!.AsArray().Select(m => (string?)m!["id"]));
        Assert.Equal("list", (string?)all["object"]);
        Assert.Equal("""{"id":"m1","object":"model","created":1795597200,"owned_by":"llm-gateway"}""", all["data"]![1]!.ToJsonString());

        var limited = new GatewayPrincipal("k", "n", null, null, ["m1"], new Dictionary<string, string>());
        Assert.Equal(["mock-1", "m1"], ModelListing.For(limited, runtime.Catalog, Start)["data"]!.AsArray().Select(m => (string?)m!["id"]));
        Assert.Equal("m1", (string?)ModelListing.One(limited, runtime.Catalog, "m1", Start)["id"]);
        Assert.Equal(404, Assert.Throws<GatewayException>(() => ModelListing.One(limited, runtime.Catalog, "mock-2", Start)).Error.Status);
        Assert.Equal(404, Assert.Throws<GatewayException>(() => ModelListing.One(limited, runtime.Catalog, "nope", Start)).Error.Status);
    }
}
