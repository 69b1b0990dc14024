using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Microsoft.Extensions.Time.Testing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Providers;

public sealed class MockProviderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    private static readonly HashSet<string> Vocabulary =
    [
        "the", "gateway", "answers", "every", "request", "with", "care", "and", "counts", "each", "token",
        "so", "budgets", "hold", "while", "streams", "flow", "through", "one", "endpoint", "that", "never",
        "surprises", "anyone", "who", "asks", "a", "question", "about", "cost", "speed", "or", "safety",
    ];

    private MockProvider Provider(Action<DeploymentOptions>? configure = null)
    {
        var d = new DeploymentOptions { Name = "mock", Provider = ProviderKind.Mock, Model = "" };
        configure?.Invoke(d);
        return new MockProvider(d, _time);
    }

    private static ProviderRequest Request(string json) =>
        new(ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json)), new DeploymentOptions { Name = "mock", Provider = "mock" }, "req_1");

    private static ProviderRequest Ask(string content, string extra = "") =>
        Request($$"""{"model":"mock-1","messages":[{"role":"user","content":"{{content}}"}]{{extra}}}""");

    private const string WeatherTools = ""","tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]""";

    private static string Content(ProviderCompletion c, int choice = 0) => (string)c.Body["choices"]![choice]!["message"]!["content"]!;

    private static async Task<List<JsonObject>> ReadAll(IChatStream stream)
    {
        var chunks = new List<JsonObject>();
        while (await stream.ReadAsync(default) is { } chunk) chunks.Add(chunk);
        return chunks;
    }

    // ---- determinism ----

    [Fact]
    public async Task The_same_messages_always_get_the_same_reply()
    {
        var a = await Provider().CompleteAsync(Ask("hello there"), default);
        var b = await Provider().CompleteAsync(Ask("hello there"), default);
        Assert.True(JsonNode.DeepEquals(a.Body, b.Body));
        var other = await Provider().CompleteAsync(Ask("hello there!"), default);
        Assert.NotEqual(Content(a), Content(other));
        Assert.NotEqual((string?)a.Body["id"], (string?)other.Body["id"]);
    }

    [Fact]
    public async Task Parameters_other_than_the_messages_do_not_change_the_words()
    {
        var plain = await Provider().CompleteAsync(Ask("hi"), default);
        var tuned = await Provider().CompleteAsync(Ask("hi", ""","temperature":1.5,"seed":3,"user":"u" """), default);
        Assert.Equal(Content(plain), Content(tuned));
    }

    [Fact]
    public async Task Roles_are_part_of_the_conversation_identity()
    {
        var user = await Provider().CompleteAsync(Request("""{"model":"m","messages":[{"role":"user","content":"x"}]}"""), default);
        var system = await Provider().CompleteAsync(Request("""{"model":"m","messages":[{"role":"system","content":"x"}]}"""), default);
        Assert.NotEqual((string?)user.Body["id"], (string?)system.Body["id"]);
    }

    [Fact]
    public async Task The_reply_is_pinned_for_a_known_conversation()
    {
        var result = await Provider().CompleteAsync(Ask("hi"), default);
        Assert.Matches("^chatcmpl-mock-[0-9a-f]{16}$", (string?)result.Body["id"]);
        Assert.Equal(PinnedId, (string?)result.Body["id"]);
        Assert.Equal(PinnedText, Content(result));
    }

    private const string PinnedId = "chatcmpl-mock-f7614eaa74835925";
    private const string PinnedText = "or that care request one anyone every through safety budgets endpoint so about streams safety a";

    // ---- completion shape and usage ----

    [Fact]
    public async Task A_completion_has_openai_shape()
    {
        var result = await Provider(d => d.Model = "mock-upstream").CompleteAsync(Ask("hi"), default);
        var body = result.Body;
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.Equal(Now.ToUnixTimeSeconds(), (long)body["created"]!);
        Assert.Equal("mock-upstream", (string?)body["model"]);
        Assert.Equal("fp_mock", (string?)body["system_fingerprint"]);
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Null(choice["message"]!["refusal"]);
        Assert.Null(choice["logprobs"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
    }

    [Fact]
    public async Task Without_a_deployment_model_the_requested_model_is_echoed()
    {
        var result = await Provider().CompleteAsync(Ask("hi"), default);
        Assert.Equal("mock-1", (string?)result.Body["model"]);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(1)]
    [InlineData(50)]
    public async Task The_reply_has_the_configured_number_of_vocabulary_words(int words)
    {
        var result = await Provider(d => d.MockCompletionTokens = words).CompleteAsync(Ask("hi"), default);
        var text = Content(result).Split(' ');
        Assert.Equal(words, text.Length);
        Assert.All(text, w => Assert.Contains(w, Vocabulary));
        Assert.Equal(words, result.Usage!.Value.CompletionTokens);
    }

    [Fact]
    public async Task Max_tokens_truncates_the_reply_and_finishes_with_length()
    {
        var full = await Provider(d => d.MockCompletionTokens = 10).CompleteAsync(Ask("hi"), default);
        var cut = await Provider(d => d.MockCompletionTokens = 10).CompleteAsync(Ask("hi", ""","max_completion_tokens":4"""), default);
        Assert.Equal(string.Join(' ', Content(full).Split(' ').Take(4)), Content(cut));
        Assert.Equal("length", (string?)cut.Body["choices"]![0]!["finish_reason"]);
        Assert.Equal(4, cut.Usage!.Value.CompletionTokens);

        var roomy = await Provider(d => d.MockCompletionTokens = 10).CompleteAsync(Ask("hi", ""","max_tokens":10"""), default);
        Assert.Equal("stop", (string?)roomy.Body["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task Usage_counts_words_plus_overheads_and_matches_the_body()
    {
        var result = await Provider(d => d.MockCompletionTokens = 7).CompleteAsync(Request(
            """{"model":"m","messages":[{"role":"system","content":"be  brief\nplease"},{"role":"user","content":[{"type":"text","text":"one two"},{"type":"text","text":"three"}]}]}"""), default);
        // 3 + (4 + 3 words) + (4 + 3 words: "one two\nthree")
        Assert.Equal(new TokenUsage(17, 7), result.Usage);
        Assert.Equal(
            """{"prompt_tokens":17,"completion_tokens":7,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}""",
            result.Body["usage"]!.ToJsonString());
    }

    [Fact]
    public async Task N_returns_that_many_identical_choices_and_multiplies_completion_tokens()
    {
        var result = await Provider(d => d.MockCompletionTokens = 5).CompleteAsync(Ask("hi", ""","n":3"""), default);
        var choices = result.Body["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => (int)c!["index"]!));
        Assert.Single(choices.Select(c => (string?)c!["message"]!["content"]).Distinct());
        Assert.Equal(15, result.Usage!.Value.CompletionTokens);
        Assert.Equal(3 + 4 + 1, result.Usage!.Value.PromptTokens);
    }

    // ---- tools, JSON, logprobs ----

    [Fact]
    public async Task Tool_choice_required_calls_the_first_tool()
    {
        var result = await Provider().CompleteAsync(Ask("weather?", WeatherTools + ""","tool_choice":"required","n":2"""), default);
        var choices = result.Body["choices"]!.AsArray();
        var id = (string)result.Body["id"]!;
        for (var i = 0; i < 2; i++)
        {
            var message = choices[i]!["message"]!;
            Assert.Null(message["content"]);
            var call = Assert.Single(message["tool_calls"]!.AsArray())!;
            Assert.Equal($"call_{id[^12..]}{i}", (string?)call["id"]);
            Assert.Equal("function", (string?)call["type"]);
            Assert.Equal("get_weather", (string?)call["function"]!["name"]);
            Assert.Equal("{}", (string?)call["function"]!["arguments"]);
            Assert.Equal("tool_calls", (string?)choices[i]!["finish_reason"]);
        }
        Assert.Equal(10, result.Usage!.Value.CompletionTokens);
    }

    [Fact]
    public async Task A_named_tool_choice_calls_that_tool()
    {
        var result = await Provider().CompleteAsync(Ask("time?", WeatherTools + ""","tool_choice":{"type":"function","function":{"name":"get_time"}}"""), default);
        Assert.Equal("get_time", (string?)result.Body["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["name"]);
    }

    [Theory]
    [InlineData(""","tool_choice":"auto" """)]
    [InlineData(""","tool_choice":"none" """)]
    [InlineData("")]
    public async Task Tools_without_a_forcing_choice_get_a_text_reply(string choice)
    {
        var result = await Provider().CompleteAsync(Ask("weather?", WeatherTools + choice), default);
        Assert.Null(result.Body["choices"]![0]!["message"]!["tool_calls"]);
        Assert.Equal("stop", (string?)result.Body["choices"]![0]!["finish_reason"]);
        Assert.False(string.IsNullOrEmpty(Content(result)));
    }

    [Theory]
    [InlineData("""{"type":"json_object"}""")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"r"}}""")]
    public async Task Json_output_is_a_json_object_wrapping_the_words(string format)
    {
        var plain = await Provider().CompleteAsync(Ask("hi"), default);
        var json = await Provider().CompleteAsync(Ask("hi", $",\"response_format\":{format}"), default);
        var parsed = JsonNode.Parse(Content(json))!.AsObject();
        Assert.Equal(Content(plain), (string?)parsed["reply"]);
        Assert.Single(parsed);
    }

    [Fact]
    public async Task Logprobs_give_one_entry_per_word_with_its_bytes()
    {
        var result = await Provider(d => d.MockCompletionTokens = 3).CompleteAsync(Ask("hi", ""","logprobs":true"""), default);
        var words = Content(result).Split(' ');
        var entries = result.Body["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal([words[0], " " + words[1], " " + words[2]], entries.Select(e => (string?)e!["token"]));
        Assert.Equal([0.0, -0.01, -0.02], entries.Select(e => (double)e!["logprob"]!));
        Assert.Equal(Encoding.UTF8.GetBytes(" " + words[1]).Select(b => (int)b), entries[1]!["bytes"]!.AsArray().Select(b => (int)b!));
    }

    // ---- latency ----

    [Fact]
    public async Task Latency_delays_the_completion_on_the_time_provider()
    {
        var task = Provider(d => d.MockLatencyMs = 500).CompleteAsync(Ask("hi"), default);
        Assert.False(task.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(task.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Now.AddMilliseconds(500).ToUnixTimeSeconds(), (long)result.Body["created"]!);
    }

    [Fact]
    public async Task Without_latency_the_completion_is_immediate()
    {
        Assert.True(Provider().CompleteAsync(Ask("hi"), default).IsCompletedSuccessfully);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Latency_observes_cancellation()
    {
        using var cts = new CancellationTokenSource();
        var task = Provider(d => d.MockLatencyMs = 1000).CompleteAsync(Ask("hi"), cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
    }

    // ---- streaming ----

    [Fact]
    public async Task A_stream_sends_role_words_finish_then_usage()
    {
        var provider = Provider(d => { d.MockCompletionTokens = 4; d.Model = "mock-up"; });
        var whole = await provider.CompleteAsync(Ask("hi"), default);
        await using var stream = await provider.OpenStreamAsync(Ask("hi", ""","stream":true"""), default);
        Assert.Null(stream.Usage);
        var chunks = await ReadAll(stream);

        Assert.Equal(1 + 4 + 1 + 1, chunks.Count);
        Assert.All(chunks, c =>
        {
            Assert.Equal("chat.completion.chunk", (string?)c["object"]);
            Assert.Equal((string?)whole.Body["id"], (string?)c["id"]);
            Assert.Equal("mock-up", (string?)c["model"]);
            Assert.Equal(Now.ToUnixTimeSeconds(), (long)c["created"]!);
        });
        Assert.Equal("""{"role":"assistant","content":"","refusal":null}""", chunks[0]["choices"]![0]!["delta"]!.ToJsonString());
        var words = Content(whole).Split(' ');
        Assert.Equal([words[0], " " + words[1], " " + words[2], " " + words[3]], chunks.Skip(1).Take(4).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
        Assert.All(chunks.Take(5), c => Assert.Null(c["choices"]![0]!["finish_reason"]));
        Assert.Equal("{}", chunks[5]["choices"]![0]!["delta"]!.ToJsonString());
        Assert.Equal("stop", (string?)chunks[5]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[6]["choices"]!.AsArray());
        Assert.Equal(whole.Body["usage"]!.ToJsonString(), chunks[6]["usage"]!.ToJsonString());
        Assert.Equal(whole.Usage, stream.Usage);
        Assert.Null(await stream.ReadAsync(default));
    }

    [Fact]
    public async Task A_stream_with_n_sends_each_choice_in_turn()
    {
        await using var stream = await Provider(d => d.MockCompletionTokens = 2).OpenStreamAsync(Ask("hi", ""","stream":true,"n":2"""), default);
        var chunks = await ReadAll(stream);
        Assert.Equal(2 * (2 + 2) + 1, chunks.Count);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], chunks.Take(8).Select(c => (int)c["choices"]![0]!["index"]!));
        Assert.Equal(4, stream.Usage!.Value.CompletionTokens);
    }

    [Fact]
    public async Task A_stream_with_a_required_tool_sends_one_tool_call_delta()
    {
        await using var stream = await Provider().OpenStreamAsync(Ask("w", WeatherTools + ""","stream":true,"tool_choice":"required" """), default);
        var chunks = await ReadAll(stream);
        Assert.Equal(4, chunks.Count);
        var call = Assert.Single(chunks[1]["choices"]![0]!["delta"]!["tool_calls"]!.AsArray())!;
        Assert.Equal(0, (int)call["index"]!);
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        Assert.Equal("{}", (string?)call["function"]!["arguments"]);
        Assert.Equal("tool_calls", (string?)chunks[2]["choices"]![0]!["finish_reason"]);
        Assert.Equal(5, stream.Usage!.Value.CompletionTokens);
    }

    [Fact]
    public async Task A_json_stream_sends_the_whole_object_in_the_first_content_chunk()
    {
        var whole = await Provider(d => d.MockCompletionTokens = 3).CompleteAsync(Ask("hi", ""","response_format":{"type":"json_object"}"""), default);
        await using var stream = await Provider(d => d.MockCompletionTokens = 3).OpenStreamAsync(Ask("hi", ""","stream":true,"response_format":{"type":"json_object"}"""), default);
        var chunks = await ReadAll(stream);
        var contents = chunks.Skip(1).Take(3).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]).ToList();
        Assert.Equal([Content(whole), "", ""], contents);
    }

    [Fact]
    public async Task A_stream_with_logprobs_sends_one_logprob_per_piece()
    {
        await using var stream = await Provider(d => d.MockCompletionTokens = 2).OpenStreamAsync(Ask("hi", ""","stream":true,"logprobs":true"""), default);
        var chunks = await ReadAll(stream);
        var piece = chunks[2]["choices"]![0]!;
        Assert.Equal((string?)piece["delta"]!["content"], (string?)piece["logprobs"]!["content"]![0]!["token"]);
        Assert.Equal(-0.01, (double)piece["logprobs"]!["content"]![0]!["logprob"]!);
        Assert.Null(chunks[0]["choices"]![0]!["logprobs"]);
    }

    [Fact]
    public async Task Stream_latency_delays_opening_and_chunk_delay_spaces_the_chunks()
    {
        var provider = Provider(d => { d.MockLatencyMs = 200; d.MockChunkDelayMs = 50; d.MockCompletionTokens = 2; });
        var opening = provider.OpenStreamAsync(Ask("hi", ""","stream":true"""), default);
        Assert.False(opening.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await using var stream = await opening.WaitAsync(TimeSpan.FromSeconds(5));

        var first = stream.ReadAsync(default);
        Assert.True(first.IsCompletedSuccessfully, "the first chunk is not delayed");
        await first;
        var second = stream.ReadAsync(default).AsTask();
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var firstWord = Content(await Provider(d => d.MockCompletionTokens = 2).CompleteAsync(Ask("hi"), default)).Split(' ')[0];
        Assert.Equal(firstWord, (string?)(await second.WaitAsync(TimeSpan.FromSeconds(5)))!["choices"]![0]!["delta"]!["content"]);
    }

    [Fact]
    public async Task A_stream_observes_cancellation_between_chunks()
    {
        await using var stream = await Provider(d => d.MockChunkDelayMs = 1000).OpenStreamAsync(Ask("hi", ""","stream":true"""), default);
        await stream.ReadAsync(default);
        using var cts = new CancellationTokenSource();
        var next = stream.ReadAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await using var immediate = await Provider().OpenStreamAsync(Ask("hi", ""","stream":true"""), default);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await immediate.ReadAsync(cancelled.Token));
    }

    [Fact]
    public async Task The_registry_creates_one_mock_per_deployment_definition()
    {
        var registry = new ProviderRegistry(_ => throw new InvalidOperationException("no http for the mock"), TestSecrets.None, _time);
        var d = new DeploymentOptions { Name = "Mock-A", Provider = "MOCK" };
        var provider = registry.For(d);
        Assert.IsType<MockProvider>(provider);
        Assert.Same(provider, registry.For(d));
        // a replaced catalog's deployment of the same name is another definition (its endpoint or key may differ)
        Assert.NotSame(provider, registry.For(new DeploymentOptions { Name = "Mock-A", Provider = "mock" }));
        Assert.NotNull(await provider.CompleteAsync(Ask("hi"), default));
        Assert.Throws<InvalidOperationException>(() => registry.For(new DeploymentOptions { Name = "x", Provider = "gemini" }));
    }
}
