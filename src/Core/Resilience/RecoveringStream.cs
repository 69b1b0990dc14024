using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Resilience;

/// <summary>A continuation stream opened on some deployment, and the mode it was asked in.</summary>
public sealed record ReopenedStream(IChatStream Stream, DeploymentOptions Deployment, string Mode);

/// <summary>
/// A stream that survives its upstream breaking after the first byte. When the upstream resets, stalls past its idle
/// timeout, sends an error event or fails mid-stream, the answer so far is sent back as a continuation
/// (<see cref="StreamContinuation"/>) to the same or the next deployment, and the rest is spliced into the same client
/// stream: the same <c>id</c>, <c>created</c> and <c>model</c> on every chunk, no role announced twice, no text lost or
/// repeated at the seam, one usage at the end (every attempt's). What cannot be rebuilt is not tried: a tool call
/// half-written (its arguments cannot be continued reliably) ends with the error event as before, as does a malformed
/// upstream chunk; <c>n</c> &gt; 1 and log probabilities are never wrapped. Each recovery is noted on the request (and so on the
/// usage record and in the stream's closing comment).
/// </summary>
public sealed class RecoveringStream(IChatStream first, DeploymentOptions deployment, GatewayContext context, int maxRecoveries,
    Func<string, int, DeploymentOptions, CancellationToken, Task<ReopenedStream>> reopen) : IChatStream, IStreamTrailer
{
    private IChatStream _current = first;
    private DeploymentOptions _deployment = deployment;
    /// <summary>What the client was given so far, shared with pricing (<see cref="GatewayContext.StreamText"/>).</summary>
    private readonly StreamText _delivered = context.StreamText = new StreamText();
    private TokenUsage _earlier;
    /// <summary>The first chunk's identity (id, created, model…), which every later chunk is given after a recovery.</summary>
    private JsonObject? _template;
    private StreamContinuation.Splicer? _splicer;
    private bool _finished;
    private bool _toolCallOpen;
    private bool _ended;
    /// <summary>A recovery under way: noted once the continuation's first text reaches the client (break → next content).</summary>
    private (long Broke, string From, string To, int AfterChars, string Cause)? _recovering;

    /// <summary>
    /// The continuation's usage plus what the broken attempts produced; null while the upstream reported none (then the
    /// whole relayed text is counted, both attempts' alike).
    /// </summary>
    public TokenUsage? Usage => _current.Usage is { } now ? now + _earlier : null;

    public string? Trailer => (_current as IStreamTrailer)?.Trailer;

    public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        while (!_ended)
        {
            JsonObject? chunk;
            try
            {
                chunk = await _current.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (GatewayException ex) when (Recoverable(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (_finished)
                {
                    // the answer was whole: only its usage or [DONE] went missing; the usage is counted from the text
                    _ended = true;
                    return null;
                }

                await RecoverAsync(ex, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (chunk is null)
            {
                _ended = true;
                return Tail();
            }

            Splice(chunk);
            return chunk;
        }

        return null;
    }

    /// <summary>A retryable upstream failure of a stream that can still be rebuilt, with recoveries left.</summary>
    private bool Recoverable(GatewayException ex) =>
        ex.Error.Code is "upstream_error" or "upstream_timeout" && ex.Error.Status is 502 or 503 or 504
        && !_toolCallOpen && context.StreamRecoveries < maxRecoveries;

    private async Task RecoverAsync(GatewayException failure, CancellationToken cancellationToken)
    {
        // a continuation that broke before its first text: that recovery counts, up to this break
        NoteRecovered();
        var broke = context.Time.GetTimestamp();
        var delivered = _delivered.ToString();
        var deliveredTokens = TokenCounter.Count(TokenCounter.KindOf(_deployment), delivered);
        var broken = _deployment;
        var brokenUsage = _current.Usage;
        await _current.DisposeAsync().ConfigureAwait(false);
        ReopenedStream next;
        try
        {
            next = await reopen(delivered, deliveredTokens, _deployment, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException)
        {
            // nothing could take it over: the client gets the original failure, as without recovery
            _ended = true;
            throw failure;
        }

        // the broken attempt: its prompt is priced as a billed failure, its text as completion tokens (it was produced and sent)
        _earlier += brokenUsage ?? new TokenUsage(0, deliveredTokens);
        if (brokenUsage is null) context.NoteBilledFailure(broken);
        _current = next.Stream;
        _deployment = next.Deployment;
        _splicer = new StreamContinuation.Splicer(delivered, next.Mode);
        _recovering = (broke, broken.Name, next.Deployment.Name, delivered.Length, failure.Error.Code ?? "");
    }

    /// <summary>Rewrites a chunk into the client's stream (after a recovery) and notes what it carries.</summary>
    private void Splice(JsonObject chunk)
    {
        if (_template is null) _template = ChatChunks.IdentityOf(chunk);
        else if (_splicer is not null) ChatChunks.CopyIdentity(_template, chunk);

        if (chunk["choices"] is not JsonArray choices) return;
        SpliceChoices(choices);
        // the text as the client gets it: content, and tool calls' names and arguments (a stream with a tool call is
        // never continued, so a continuation only ever sees content)
        _delivered.Note(chunk);
    }

    private void SpliceChoices(JsonArray choices)
    {
        foreach (var choice in choices.OfType<JsonObject>())
        {
            var delta = choice["delta"] as JsonObject;
            if (_splicer is not null && delta is not null)
            {
                delta.Remove("role");
                if (delta["content"] is JsonValue v && v.TryGetValue<string>(out var text)) delta["content"] = _splicer.Take(text);
            }

            var finished = choice["finish_reason"] is JsonValue f && f.GetValueKind() == JsonValueKind.String;
            if (finished && _splicer is not null && _splicer.Flush() is { Length: > 0 } held)
            {
                var d = delta ?? (JsonObject)(choice["delta"] = new JsonObject());
                d["content"] = held + ((string?)d["content"] ?? "");
            }

            if (delta?["content"] is JsonValue c && c.TryGetValue<string>(out var content) && content.Length > 0) NoteRecovered();

            if (delta?["tool_calls"] is JsonArray) _toolCallOpen = true;
            if (finished)
            {
                NoteRecovered();
                _finished = true;
                _toolCallOpen = false;
            }
        }
    }

    private void NoteRecovered()
    {
        if (_recovering is not { } r) return;
        _recovering = null;
        context.NoteStreamRecovery(r.From, r.To, r.AfterChars, context.Time.GetElapsedTime(r.Broke), r.Cause);
    }

    /// <summary>At the end: text a continuation still held (it ended without a finish chunk), as one last chunk.</summary>
    private JsonObject? Tail()
    {
        if (_splicer?.Flush() is not { Length: > 0 } held || _template is null)
        {
            NoteRecovered();
            return null;
        }

        NoteRecovered();
        var tail = ChatChunks.Like(_template, new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = held }, ["finish_reason"] = null }));
        _delivered.Note(tail);
        return tail;
    }

    public ValueTask DisposeAsync() => _current.DisposeAsync();
}
