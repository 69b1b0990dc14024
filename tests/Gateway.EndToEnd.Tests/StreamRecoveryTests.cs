using System.Text;
using System.Text.Json.Nodes;
using Gateway.Testing;

namespace Gateway.EndToEnd.Tests;

/// <summary>A stream the upstream cuts mid-answer, continued through the real host: the client gets the whole answer once.</summary>
[Collection(HostCollection.Name)]
public sealed class StreamRecoveryTests(HostFixture fixture)
{
    [HostFact]
    public async Task A_stream_cut_after_its_first_chunks_reaches_the_client_whole_with_the_recovery_in_its_closing_comment()
    {
        var words = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"w{i}-{Guid.NewGuid():N}"[..8]));
        // this request's own (the suite's other requests share the upstream); the break 2 s after the sixth event, so a worker
        // slowed by the suites running beside it has read them (else the reset drops them unread, the break comes before
        // the first byte, and the request is retried whole instead of recovered: seen once in CI)
        fixture.Upstream.EnqueueFault(new BrokenStream(6, TimeSpan.FromSeconds(2)), bodyContains: words);

        var reply = await fixture.ChatAsync(fixture.Keys["main"].Key,
            $$"""{"model":"gpt-4o-mini","stream":true,"max_tokens":400,"messages":[{"role":"user","content":"{{words}}"}]}""");

        Assert.Equal(200, reply.Status);
        var text = new StringBuilder();
        var ids = new HashSet<string>();
        foreach (var line in reply.Text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            var chunk = JsonNode.Parse(line[6..])!;
            Assert.Null(chunk["error"]);
            ids.Add((string)chunk["id"]!);
            foreach (var choice in chunk["choices"]!.AsArray()) text.Append((string?)choice!["delta"]?["content"]);
        }

        Assert.Equal("echo: " + words, text.ToString());
        Assert.Single(ids);
        Assert.Contains("; recovered after ", reply.Text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", reply.Text, StringComparison.Ordinal);
    }
}
