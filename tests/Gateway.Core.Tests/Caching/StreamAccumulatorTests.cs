using System.Text.Json.Nodes;
using Gateway.Core.Caching;

namespace Gateway.Core.Tests.Caching;

public sealed class StreamAccumulatorTests
{
    private static JsonObject Chunk(string choices) =>
        (JsonObject)JsonNode.Parse($$"""{"id":"c1","object":"chat.completion.chunk","created":7,"model":"gpt-4o","system_fingerprint":"fp","choices":{{choices}}}""")!;

    [Fact]
    public void Chunks_fold_back_into_the_completion_with_content_tool_calls_and_every_choice()
    {
        var a = new StreamAccumulator();
        a.Add(Chunk("""[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}]"""));
        a.Add(Chunk("""[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]"""));
        a.Add(Chunk("""[{"index":0,"delta":{"content":"lo"},"logprobs":{"content":[{"token":"lo","logprob":-0.1}]},"finish_reason":null}]"""));
        a.Add(Chunk("""[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":"}}]},"finish_reason":null}]"""));
        a.Add(Chunk("""[{"index":1,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}},{"index":1,"id":"call_2","function":{"name":"put","arguments":"{}"}}]},"finish_reason":null}]"""));
        a.Add(Chunk("""[{"index":0,"delta":{},"finish_reason":"stop"}]"""));
        Assert.Null(a.TryBuild()); // choice 1 has not finished yet
        a.Add(Chunk("""[{"index":1,"delta":{},"finish_reason":"tool_calls"}]"""));
        a.Add(Chunk("""[]"""));

        var c = a.TryBuild()!;
        Assert.Equal("chat.completion", (string)c["object"]!);
        Assert.Equal("c1", (string)c["id"]!);
        Assert.Equal("fp", (string)c["system_fingerprint"]!);
        Assert.Equal("Hello", (string)c["choices"]![0]!["message"]!["content"]!);
        Assert.Equal(-0.1, (double)c["choices"]![0]!["logprobs"]!["content"]![0]!["logprob"]!);
        Assert.Equal("stop", (string)c["choices"]![0]!["finish_reason"]!);
        var calls = c["choices"]![1]!["message"]!["tool_calls"]!.AsArray();
        Assert.Equal(2, calls.Count);
        Assert.Equal("call_1", (string)calls[0]!["id"]!);
        Assert.Equal("{\"a\":1}", (string)calls[0]!["function"]!["arguments"]!);
        Assert.Equal("put", (string)calls[1]!["function"]!["name"]!);
        Assert.Equal("B", (string)c["choices"]![1]!["message"]!["content"]!);
        Assert.Equal("tool_calls", (string)c["choices"]![1]!["finish_reason"]!);
    }

    [Fact]
    public void A_stream_that_stopped_early_or_had_no_choices_is_not_a_completion()
    {
        var empty = new StreamAccumulator();
        empty.Add(Chunk("[]"));
        Assert.Null(empty.TryBuild());
        var cut = new StreamAccumulator();
        cut.Add(Chunk("""[{"index":0,"delta":{"content":"half an ans"},"finish_reason":null}]"""));
        Assert.Null(cut.TryBuild());
    }
}
