using System.Text;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;

namespace Gateway.Testing;

/// <summary>Request headers carrying a gateway key as a bearer token, plus any extra headers a test sets.</summary>
internal sealed class BearerHeaders(string key, IDictionary<string, string>? extra = null) : IRequestHeaders
{
    private readonly string _authorization = "Bearer " + key;

    public string? Get(string name) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? _authorization
        : extra is not null && extra.TryGetValue(name, out var value) ? value
        : null;
}

/// <summary>Secret resolvers for tests: none set, or every setting holding a fake upstream key.</summary>
internal static class TestSecrets
{
    public static ISecretResolver None { get; } = new Fixed(null);

    /// <summary>Every setting resolves to <c>sk-upstream-test</c> (what the fake LLM server accepts by default).</summary>
    public static ISecretResolver Upstream { get; } = new Fixed("sk-upstream-test");

    private sealed class Fixed(string? value) : ISecretResolver
    {
        public string? Resolve(string settingName) => value;
    }
}

/// <summary>What one request through a gateway produced: the context, the outcome, the answer as text (the completion's
/// JSON, or the stream's server-sent events) and the error that ended a stream early, if any.</summary>
internal sealed record SentRequest(GatewayContext Context, ChatCompletionOutcome Outcome, string Text, GatewayError? StreamError)
{
    /// <summary>A stream's data events (JSON chunks), in order.</summary>
    public IReadOnlyList<System.Text.Json.Nodes.JsonObject> Events() =>
        [.. Text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l[6..])!.AsObject())];

    /// <summary>A stream's text: every choice's <c>delta.content</c>, in order.</summary>
    public string StreamedContent() => string.Concat(Deltas().Select(d => (string?)d["content"]));

    /// <summary>A stream's tool-call arguments: every fragment of every call, in order.</summary>
    public string StreamedArguments() =>
        string.Concat(Deltas().SelectMany(d => d["tool_calls"]?.AsArray() ?? []).Select(c => (string?)c?["function"]?["arguments"]));

    private IEnumerable<System.Text.Json.Nodes.JsonNode> Deltas() =>
        Events().SelectMany(e => e["choices"]?.AsArray() ?? []).Select(c => c?["delta"]).OfType<System.Text.Json.Nodes.JsonNode>();
}

internal static class GatewayRequests
{
    /// <summary>Sends a chat completion as the Functions app would: handle, write the answer out, run the after-response work.</summary>
    public static async Task<SentRequest> SendAsync(GatewayRuntime runtime, IRequestHeaders headers, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var context = new GatewayContext("r", headers, new MemoryStream(body), body.Length, runtime.Time, default);
        var outcome = await runtime.ChatCompletions.HandleAsync(context);
        var text = "";
        GatewayError? streamError = null;
        if (outcome.Result is GatewayResult.Completion completion) text = completion.Body.ToJsonString();
        if (outcome.Result is GatewayResult.Streaming streaming)
        {
            using var output = new MemoryStream();
            await using (streaming.Stream)
                streamError = (await ChatStreamWriter.WriteAsync(streaming.Stream, output, includeUsage: true, default)).Error;
            text = Encoding.UTF8.GetString(output.ToArray());
        }

        await context.CompleteAsync();
        return new SentRequest(context, outcome, text, streamError);
    }
}

/// <summary>A shared configuration-document store in memory, standing for the blob every instance reads (conditions as the blob's).</summary>
public sealed class MemoryDocumentStore : Gateway.Core.Configuration.IDocumentStore
{
    private readonly Lock _gate = new();

    public Gateway.Core.Configuration.StoredDocument? Stored { get; set; }
    public int Saves { get; private set; }

    public Task<Gateway.Core.Configuration.DocumentRead> ReadAsync(string? knownETag, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Stored is null ? Gateway.Core.Configuration.DocumentRead.Absent
                : Stored.ETag == knownETag ? Gateway.Core.Configuration.DocumentRead.Unchanged
                : new Gateway.Core.Configuration.DocumentRead(Gateway.Core.Configuration.DocumentReadStatus.Changed, Stored));
        }
    }

    public Task<Gateway.Core.Configuration.StoredDocument> SaveAsync(string json, Gateway.Core.Configuration.DocumentCondition condition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Check(condition);
            Saves++;
            Stored = new Gateway.Core.Configuration.StoredDocument(json, $"\"etag-{Saves}\"");
            return Task.FromResult(Stored);
        }
    }

    public Task<bool> DeleteAsync(Gateway.Core.Configuration.DocumentCondition condition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Check(condition);
            var had = Stored is not null;
            Stored = null;
            return Task.FromResult(had);
        }
    }

    private void Check(Gateway.Core.Configuration.DocumentCondition condition)
    {
        if ((condition.MustBeAbsent && Stored is not null) || (condition.ETag is { } etag && Stored?.ETag != etag))
            throw new Gateway.Core.Configuration.DocumentConflictException("another version is stored");
    }
}
