using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Caching;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Safety;
using Gateway.Core.Usage;

namespace Gateway.Core.Privacy;

/// <summary>
/// Section <c>Gateway:Privacy:ContentLogging</c>: whether prompts and answers are kept, and for how long. Off unless
/// switched on — for everyone (<see cref="Enabled"/>), a team (<c>Teams:&lt;team&gt;</c>) or a key (<c>Keys:&lt;key id&gt;</c>),
/// the most specific setting winning.
/// </summary>
public sealed class ContentLogOptions
{
    public bool Enabled { get; set; }

    public Dictionary<string, bool> Teams { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, bool> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Logged content older than this is deleted (its own retention, shorter than the usage log's by default).</summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>The most characters kept of a request's messages and of its answer each (beyond them the entry says it was cut).</summary>
    public int MaxChars { get; set; } = 16_000;

    public bool IsOn(string keyId, string? team) =>
        Keys.TryGetValue(keyId, out var key) ? key : team is not null && Teams.TryGetValue(team, out var forTeam) ? forTeam : Enabled;

    public IEnumerable<string> Validate()
    {
        if (RetentionDays < 1) yield return "Gateway:Privacy:ContentLogging:RetentionDays must be at least 1";
        if (MaxChars is < 100 or > 30_000) yield return "Gateway:Privacy:ContentLogging:MaxChars must be between 100 and 30000 (a Table Storage property holds 32K characters)";
    }
}

/// <summary>One request's logged content, redacted: its messages and its answer as text, who sent it, and whether either was cut.</summary>
public sealed record ContentLogEntry(string RequestId, DateTimeOffset At, string KeyId, string? Team, string? User, string? Model, string Request, string? Response, bool Truncated);

/// <summary>Where logged content goes (batched into Table Storage in the Functions app). Never blocks the request.</summary>
public interface IContentLogSink
{
    void Write(ContentLogEntry entry);
}

/// <summary>The content log's storage, by end user (for export and erasure) and by age (for retention).</summary>
public interface IContentLogStore
{
    Task WriteAsync(IReadOnlyList<ContentLogEntry> entries, CancellationToken cancellationToken);

    /// <summary>The entries of requests whose user is stored as <paramref name="user"/>.</summary>
    IAsyncEnumerable<ContentLogEntry> ReadUserAsync(string user, CancellationToken cancellationToken);

    /// <summary>Deletes them; returns how many.</summary>
    Task<long> DeleteUserAsync(string user, CancellationToken cancellationToken);

    /// <summary>Deletes entries logged before <paramref name="cutoff"/>; returns how many.</summary>
    Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}

/// <summary>
/// Keeps the prompt and the answer of requests whose key or team has content logging on — with every detector of the
/// safety engine applied as redaction first (<see cref="Redaction"/>: PII and secrets become typed placeholders, never
/// stored), whatever the safety policy in force does with them. It stands outside the safety stage, so the answer it
/// keeps is the one the client got; the entry is written after the response, off the request path. The end user is
/// stored as usage records store them (plain or pseudonym), so the user's export and erasure find their content.
/// </summary>
public sealed class ContentLogStage(IContentLogSink sink, ContentLogOptions options, UserPseudonyms? pseudonyms = null) : IGatewayStage
{
    /// <summary>Every detector set to redact: what the content log applies before anything is kept.</summary>
    public static SafetyPolicy Redaction { get; } = new("content-log", Detectors.All.Keys.ToDictionary(d => d, _ => SafetyAction.Redact, StringComparer.Ordinal));

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var principal = context.Principal;
        if (principal is null || context.Request is not { } request || !options.IsOn(principal.KeyId, principal.Team)) return await next(context).ConfigureAwait(false);

        // the messages as the client sent them (later stages may rewrite the request), redacted when the entry is written
        var messages = request.Body["messages"]?.ToJsonString() ?? "[]";
        var answer = new Answer();
        context.OnCompleted(() =>
        {
            Write(context, principal, request, messages, answer);
            return ValueTask.CompletedTask;
        });
        var result = await next(context).ConfigureAwait(false);
        switch (result)
        {
            case GatewayResult.Completion completion:
                answer.Text = Text(completion.Body);
                return completion;
            case GatewayResult.Streaming streaming:
                return new GatewayResult.Streaming(new Recorded(streaming.Stream, answer));
            default:
                return result;
        }
    }

    private void Write(GatewayContext context, Auth.GatewayPrincipal principal, ChatRequest request, string messages, Answer answer)
    {
        var placeholders = new Dictionary<string, string>(StringComparer.Ordinal);
        var (prompt, promptCut) = Cut(Redact(messages, placeholders));
        var response = answer.Text ?? (answer.Stream?.TryBuild() is { } built ? Text(built) : answer.Stream is null ? null : answer.Partial.ToString());
        var (kept, responseCut) = response is null ? (null, false) : Cut(Redact(response, placeholders));
        sink.Write(new ContentLogEntry(context.UsageRecordId ?? context.RequestId, context.ReceivedAt, principal.KeyId, principal.Team,
            pseudonyms is null ? context.EndUser : pseudonyms.Stored(context.EndUser, principal.Team), request.Model, prompt, kept, promptCut || responseCut));
    }

    private static string Redact(string text, Dictionary<string, string> placeholders) =>
        SafetyScanner.Redact(text, SafetyScanner.Scan(text, Redaction), Redaction, placeholders);

    private (string Text, bool Cut) Cut(string text) => text.Length <= options.MaxChars ? (text, false) : (text[..options.MaxChars], true);

    /// <summary>The answer as text: each choice's content (and tool calls' arguments), choices separated by blank lines.</summary>
    private static string Text(JsonObject completion)
    {
        var text = new StringBuilder();
        foreach (var message in (completion["choices"] as JsonArray ?? []).Select(c => c?["message"]).OfType<JsonObject>())
        {
            if (text.Length > 0) text.Append("\n\n");
            text.Append((string?)(message["content"] as JsonValue));
            foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
                text.Append('\n').Append((string?)call["function"]?["name"]).Append('(').Append((string?)call["function"]?["arguments"]).Append(')');
        }

        return text.ToString();
    }

    private sealed class Answer
    {
        public string? Text;
        public StreamAccumulator? Stream;
        /// <summary>What was relayed of a stream that did not finish (its accumulator cannot build a whole answer).</summary>
        public readonly StringBuilder Partial = new();
    }

    /// <summary>Relays a stream unchanged, keeping what it says.</summary>
    private sealed class Recorded(IChatStream inner, Answer answer) : IChatStream, IStreamTrailer
    {
        private readonly StreamAccumulator _accumulator = answer.Stream = new StreamAccumulator();

        public TokenUsage? Usage => inner.Usage;

        public string? Trailer => (inner as IStreamTrailer)?.Trailer;

        public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            var chunk = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (chunk is null) return null;
            _accumulator.Add(chunk);
            foreach (var choice in (chunk["choices"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (choice["delta"]?["content"] is JsonValue v && v.TryGetValue<string>(out var s)) answer.Partial.Append(s);
            }

            return chunk;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>Logged content, batched (a second at most) into the content log's store.</summary>
public sealed class ContentLogBatcher(IContentLogStore store, TimeProvider time, UsageBatchingOptions options, Action<int>? onDropped = null, Action<Exception>? onSendFailed = null)
    : SpoolingBatcher<ContentLogEntry>(new StoreSender(store), time, options, onDropped, onSendFailed), IContentLogSink
{
    public void Write(ContentLogEntry entry) => Add(entry);

    private sealed class StoreSender(IContentLogStore store) : IBatchSender<ContentLogEntry>
    {
        public Task SendAsync(IReadOnlyList<ContentLogEntry> items, CancellationToken cancellationToken) => store.WriteAsync(items, cancellationToken);
    }
}
