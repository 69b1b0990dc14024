namespace Gateway.Testing;

/// <summary>What the fake upstream answers with. Token counts are what the provider reports; for Anthropic the
/// server reports <c>input_tokens</c> without the cache-read and cache-write tokens, as Anthropic does.</summary>
public sealed record FakeReply
{
    public string Text { get; init; } = "";

    /// <summary>Streams the text in pieces of this many characters (a big answer in few chunks); null: word by word.</summary>
    public int? ChunkChars { get; init; }
    public IReadOnlyList<FakeToolCall> ToolCalls { get; init; } = [];

    /// <summary>OpenAI finish reason (stop, length, tool_calls, content_filter); translated for Anthropic.
    /// Defaults to tool_calls when there are tool calls, else stop.</summary>
    public string? FinishReason { get; init; }

    public int PromptTokens { get; init; } = 10;
    public int CompletionTokens { get; init; } = 5;
    public int CachedPromptTokens { get; init; }
    public int CacheWriteTokens { get; init; }
    public int ReasoningTokens { get; init; }

    /// <summary>The model name the upstream reports; defaults to the model asked for.</summary>
    public string? Model { get; init; }

    internal string EffectiveFinishReason => FinishReason ?? (ToolCalls.Count > 0 ? "tool_calls" : "stop");
}

public sealed record FakeToolCall(string Id, string Name, string ArgumentsJson);

/// <summary>A fault the fake upstream injects into one request.</summary>
public abstract record FakeFault;

/// <summary>429 with a Retry-After header.</summary>
public sealed record RateLimited(int RetryAfterSeconds) : FakeFault;

/// <summary>A 5xx answer with a provider-shaped error body.</summary>
public sealed record ServerError(int Status = 500) : FakeFault;

/// <summary>Waits before answering (or until the caller gives up).</summary>
public sealed record Hang(TimeSpan Delay) : FakeFault;

/// <summary>Aborts the TCP connection without an answer.</summary>
public sealed record ConnectionReset : FakeFault;

/// <summary>Starts a normal answer, then aborts the connection after <paramref name="AfterChunks"/> stream events
/// (or half the body when not streaming), <paramref name="Pause"/> (200 ms when not given) after the last of them: the
/// reset makes the client's kernel drop what it has received and not yet read, so a client that may be slow to read (a
/// worker on a loaded machine) needs a longer pause to have read the events before the break.</summary>
public sealed record BrokenStream(int AfterChunks, TimeSpan? Pause = null) : FakeFault;

/// <summary>Starts a normal stream, then sends the provider's error event after <paramref name="AfterChunks"/> events and ends.</summary>
public sealed record StreamErrorEvent(int AfterChunks) : FakeFault;

/// <summary>Starts a normal stream, then goes quiet for <paramref name="For"/> after <paramref name="AfterChunks"/> events (a stall), then goes on.</summary>
public sealed record StreamStall(int AfterChunks, TimeSpan For) : FakeFault;

/// <summary>400 with the given message in a provider-shaped error body.</summary>
public sealed record BadRequest(string Message) : FakeFault;

/// <summary>Injects faults at random into a share of requests, reproducibly for a seed.</summary>
public sealed record FaultPlan(double Rate, IReadOnlyList<FakeFault> Kinds, int Seed = 42);

/// <summary>One request as the fake upstream received it. Header names are lower-case.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string QueryString,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset ReceivedAt);

/// <summary>Azure OpenAI's own content filter refusing the prompt: 400 with <c>code: "content_filter"</c> and the
/// categories in <c>innererror.content_filter_result</c>, as Azure answers.</summary>
public sealed record AzureContentFilter : FakeFault;
