using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Tests.Pipeline;

public sealed class ChatStreamWriterTests
{
    /// <summary>A stream of prepared chunks that may fail after some of them and may carry a trailer.</summary>
    private class ScriptedStream(IEnumerable<string> chunks, Exception? failAfter = null, Action? onRead = null) : IChatStream
    {
        private readonly Queue<string> _chunks = new(chunks);
        public int Reads { get; private set; }
        public TokenUsage? Usage => null;

        public ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            Reads++;
            onRead?.Invoke();
            if (_chunks.Count > 0) return ValueTask.FromResult<JsonObject?>(JsonNode.Parse(_chunks.Dequeue())!.AsObject());
            if (failAfter is not null) throw failAfter;
            return ValueTask.FromResult<JsonObject?>(null);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class TrailerStream(IEnumerable<string> chunks, string? trailer) : ScriptedStream(chunks), IStreamTrailer
    {
        public string? Trailer { get; } = trailer;
    }

    /// <summary>Records what had been written at each flush.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<string> AtFlush { get; } = [];
        public string Text => Encoding.UTF8.GetString(ToArray());

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            AtFlush.Add(Text);
            return base.FlushAsync(cancellationToken);
        }
    }

    private const string Role = """{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""";
    private const string Hello = """{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}""";
    private const string Finish = """{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""";
    private const string UsageOnly = """{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}""";

    private static string Event(string json) => "data: " + json + "\n\n";

    [Fact]
    public async Task Each_chunk_is_a_data_event_and_the_stream_ends_with_done()
    {
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([Role, Hello, Finish]), output, includeUsage: true, default);

        Assert.Equal(Event(Role) + Event(Hello) + Event(Finish) + "data: [DONE]\n\n", output.Text);
        Assert.Equal(new StreamOutcome(3, null), outcome);
    }

    [Fact]
    public async Task An_empty_stream_is_just_done()
    {
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([]), output, includeUsage: false, default);
        Assert.Equal("data: [DONE]\n\n", output.Text);
        Assert.Equal(0, outcome.Chunks);
    }

    [Fact]
    public async Task Every_chunk_is_flushed_before_the_next_is_read()
    {
        using var output = new RecordingStream();
        var seenAtRead = new List<string>();
        var stream = new ScriptedStream([Role, Hello, Finish], onRead: () => seenAtRead.Add(output.Text));
        await ChatStreamWriter.WriteAsync(stream, output, includeUsage: true, default);

        Assert.Equal(["", Event(Role), Event(Role) + Event(Hello), Event(Role) + Event(Hello) + Event(Finish)], seenAtRead);
        Assert.Equal(
            [Event(Role), Event(Role) + Event(Hello), Event(Role) + Event(Hello) + Event(Finish), Event(Role) + Event(Hello) + Event(Finish) + "data: [DONE]\n\n"],
            output.AtFlush);
    }

    [Fact]
    public async Task The_usage_chunk_is_passed_on_when_the_client_asked_for_it()
    {
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([Hello, UsageOnly]), output, includeUsage: true, default);
        Assert.Equal(Event(Hello) + Event(UsageOnly) + "data: [DONE]\n\n", output.Text);
        Assert.Equal(2, outcome.Chunks);
    }

    [Fact]
    public async Task Without_include_usage_the_usage_chunk_is_dropped_and_usage_stripped_from_others()
    {
        const string helloWithUsage = """{"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"}}],"usage":null}""";
        const string finishWithUsage = """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}""";
        const string emptyChoicesNoUsage = """{"id":"c1","choices":[]}""";
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([helloWithUsage, finishWithUsage, emptyChoicesNoUsage, UsageOnly]), output, includeUsage: false, default);

        Assert.Equal(
            Event("""{"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"}}]}""") +
            Event("""{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""") +
            Event(emptyChoicesNoUsage) +
            "data: [DONE]\n\n",
            output.Text);
        Assert.Equal(3, outcome.Chunks);
    }

    [Fact]
    public async Task A_trailer_is_an_sse_comment_on_one_line_before_done()
    {
        using var output = new RecordingStream();
        await ChatStreamWriter.WriteAsync(new TrailerStream([Hello], "cost 0.0012 USD\r\nestimated\nfinal"), output, includeUsage: false, default);
        Assert.Equal(Event(Hello) + ": cost 0.0012 USD estimated final\n\n" + "data: [DONE]\n\n", output.Text);
    }

    [Fact]
    public async Task A_null_trailer_writes_nothing_extra()
    {
        using var output = new RecordingStream();
        await ChatStreamWriter.WriteAsync(new TrailerStream([Hello], null), output, includeUsage: false, default);
        Assert.Equal(Event(Hello) + "data: [DONE]\n\n", output.Text);
    }

    [Fact]
    public async Task A_failure_after_the_first_chunk_becomes_an_error_event_without_done()
    {
        var failure = Errors.Errors.UpstreamError("anthropic", null);
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([Role, Hello], failure), output, includeUsage: true, default);

        Assert.Equal(
            Event(Role) + Event(Hello) +
            """data: {"error":{"message":"The upstream provider (anthropic) could not be reached.","type":"api_error","param":null,"code":"upstream_error"}}""" + "\n\n",
            output.Text);
        Assert.DoesNotContain("[DONE]", output.Text, StringComparison.Ordinal);
        Assert.Equal(2, outcome.Chunks);
        Assert.Same(failure.Error, outcome.Error);
        Assert.Equal(output.Text, output.AtFlush[^1]);
    }

    [Fact]
    public async Task A_failure_before_any_chunk_is_also_an_error_event()
    {
        using var output = new RecordingStream();
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([], Errors.Errors.UpstreamTimeout("openai", TimeSpan.FromSeconds(30))), output, includeUsage: true, default);
        Assert.Equal("""data: {"error":{"message":"The upstream provider (openai) did not answer within 30 s.","type":"timeout","param":null,"code":"upstream_timeout"}}""" + "\n\n", output.Text);
        Assert.Equal(0, outcome.Chunks);
        Assert.Equal(504, outcome.Error!.Status);
    }

    [Fact]
    public async Task When_the_client_is_gone_a_failure_is_rethrown_not_written()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        using var output = new RecordingStream();
        var failure = Errors.Errors.UpstreamError("openai", null);
        var thrown = await Assert.ThrowsAsync<GatewayException>(() => ChatStreamWriter.WriteAsync(new ScriptedStream([], failure), output, includeUsage: true, cts.Token));
        Assert.Same(failure, thrown);
        Assert.Equal("", output.Text);
    }

    [Fact]
    public async Task Any_other_exception_mid_stream_is_an_internal_error_event_without_done_and_is_handed_back_to_log()
    {
        using var output = new RecordingStream();
        var boom = new InvalidOperationException("boom: sk-secret-in-a-message");
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([Role, Hello], boom), output, includeUsage: true, default);
        Assert.Equal(
            Event(Role) + Event(Hello) +
            """data: {"error":{"message":"The gateway had an internal error while handling your request.","type":"api_error","param":null,"code":"internal_error"}}""" + "\n\n",
            output.Text);
        Assert.DoesNotContain("[DONE]", output.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret", output.Text, StringComparison.Ordinal);
        Assert.Equal(500, outcome.Error!.Status);
        Assert.Same(boom, outcome.Failure);
        Assert.Equal(2, outcome.Chunks);
    }

    [Fact]
    public async Task Chunks_larger_than_the_initial_buffer_are_written_whole()
    {
        var big = new string('x', 50_000);
        var chunk = new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["delta"] = new JsonObject { ["content"] = big } }) }.ToJsonString();
        using var output = new RecordingStream();
        await ChatStreamWriter.WriteAsync(new ScriptedStream([Hello, chunk, Hello]), output, includeUsage: true, default);
        Assert.Equal(Event(Hello) + Event(chunk) + Event(Hello) + "data: [DONE]\n\n", output.Text);
    }

    [Fact]
    public async Task Non_ascii_text_round_trips_through_the_event_json()
    {
        const string text = "héllo 👋 \"quoted\"\nnew line";
        var chunk = new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["delta"] = new JsonObject { ["content"] = text } }) }.ToJsonString();
        using var output = new RecordingStream();
        await ChatStreamWriter.WriteAsync(new ScriptedStream([chunk]), output, includeUsage: true, default);
        var events = output.Text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, events.Length);
        Assert.StartsWith("data: ", events[0], StringComparison.Ordinal);
        Assert.DoesNotContain('\n', events[0]);
        Assert.Equal(text, (string?)JsonNode.Parse(events[0]["data: ".Length..])!["choices"]![0]!["delta"]!["content"]);
    }

    /// <summary>
    /// An array pool that counts what is out, hands a returned array out again first (so a buffer used after its return
    /// would be shared with the next chunk), and overwrites every returned array with '#' (so bytes read from a buffer
    /// after its return show up as '#').
    /// </summary>
    private sealed class PoisoningPool : ArrayPool<byte>
    {
        private readonly Stack<byte[]> _free = new();
        public int Outstanding { get; private set; }
        public int Rents { get; private set; }

        public override byte[] Rent(int minimumLength)
        {
            Outstanding++;
            Rents++;
            while (_free.TryPop(out var array))
                if (array.Length >= minimumLength) return array;
            return new byte[Math.Max(minimumLength, 16)];
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Outstanding--;
            array.AsSpan().Fill((byte)'#');
            _free.Push(array);
        }
    }

    /// <summary>A client's pipe that records, at each flush, what had been written and how many chunk buffers were out.</summary>
    private sealed class FlushWatchingPipe(PoisoningPool pool) : PipeWriter
    {
        private readonly ArrayBufferWriter<byte> _written = new();
        public List<int> OutstandingAtFlush { get; } = [];
        public string Text => Encoding.UTF8.GetString(_written.WrittenSpan);

        public override void Advance(int bytes) => _written.Advance(bytes);
        public override Memory<byte> GetMemory(int sizeHint = 0) => _written.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => _written.GetSpan(sizeHint);
        public override void CancelPendingFlush() { }
        public override void Complete(Exception? exception = null) { }

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            OutstandingAtFlush.Add(pool.Outstanding);
            await Task.Yield();
            return new FlushResult(isCanceled: false, isCompleted: false);
        }
    }

    private static string ContentChunk(string id, string content) =>
        new JsonObject { ["id"] = id, ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = content } }) }.ToJsonString();

    [Fact]
    public async Task No_chunk_buffer_is_held_while_a_flush_waits_and_many_chunks_arrive_intact()
    {
        // multibyte UTF-8 throughout (2, 3 and 4 bytes a character), chunks of every size around the 4 KiB the buffer
        // starts at (so some grow it), and a returned buffer handed out again for the next chunk
        var pieces = new[] { "é", "日本", "👋", "a", "ß€", "\"", "\n" };
        var chunks = Enumerable.Range(0, 600).Select(i => ContentChunk($"c{i}",
            string.Concat(Enumerable.Range(0, i % 7 == 0 ? 900 + i : 1 + i % 40).Select(j => pieces[(i + j) % pieces.Length])))).ToList();
        var pool = new PoisoningPool();
        var output = new FlushWatchingPipe(pool);

        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream(chunks), output, includeUsage: true, pool, null, default);

        Assert.Equal(new StreamOutcome(600, null), outcome);
        Assert.Equal(string.Concat(chunks.Select(Event)) + "data: [DONE]\n\n", output.Text);
        // every flush (one per chunk, one for [DONE]) found the chunk's buffer already back in the pool
        Assert.Equal(Enumerable.Repeat(0, 601), output.OutstandingAtFlush);
        Assert.Equal(0, pool.Outstanding);
        Assert.True(pool.Rents >= 600);
    }

    [Fact]
    public async Task A_chunk_is_whole_in_the_pipe_before_its_buffer_goes_back_to_the_pool()
    {
        // through a real pipe read only after the writer is done: the text is what the pipe copied before each return
        var pool = new PoisoningPool();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var chunks = Enumerable.Range(0, 50).Select(i => ContentChunk($"c{i}", new string('ü', 3000 + i))).ToList();

        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream(chunks), pipe.Writer, includeUsage: true, pool, null, default);
        await pipe.Writer.CompleteAsync();

        var read = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        Assert.True(read.IsCompleted);
        Assert.Equal(string.Concat(chunks.Select(Event)) + "data: [DONE]\n\n", Encoding.UTF8.GetString(read.Buffer));
        Assert.Equal(50, outcome.Chunks);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task A_failure_mid_stream_leaves_no_chunk_buffer_out()
    {
        var pool = new PoisoningPool();
        var output = new FlushWatchingPipe(pool);
        var outcome = await ChatStreamWriter.WriteAsync(new ScriptedStream([Role, Hello], new InvalidOperationException("boom")), output, includeUsage: true, pool, null, default);
        Assert.Equal(500, outcome.Error!.Status);
        Assert.StartsWith(Event(Role) + Event(Hello) + "data: {\"error\"", output.Text, StringComparison.Ordinal);
        Assert.Equal(0, pool.Outstanding);
    }
}
