using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;

namespace Gateway.Core.Caching;

/// <summary>
/// Exact-match response cache and de-duplication, after admission (rate limits, budgets) and before routing.
/// <list type="bullet">
/// <item>Only deterministic requests are cached by default: <c>temperature</c> 0, or the client opts in with
/// <c>x-gateway-cache: on</c>. <c>Cache-Control: no-store</c> bypasses the cache; <c>no-cache</c> skips the lookup but
/// stores the fresh answer; <c>x-gateway-cache-ttl: seconds</c> sets the entry's life (up to the configured maximum).</item>
/// <item>A hit costs nothing; the usage record keeps the tokens and the saving. Streaming clients get the cached answer
/// replayed as a stream.</item>
/// <item>Identical requests in flight at once (same key, same scope) share one upstream call: the first calls upstream
/// (streaming or not; a stream is folded back into the whole completion as it passes) and every other caller — streaming
/// or not — gets its whole answer, or its failure. When the first caller goes away before the answer, the others make
/// the call themselves.</item>
/// <item>Streamed misses are stored too, once the stream ended with every choice finished.</item>
/// </list>
/// The response says which: <c>x-gateway-cache: hit | miss | coalesced | bypass</c>.
/// With <paramref name="coalesce"/> false (the <c>Coalescing</c> feature flag off) every miss calls upstream itself:
/// nothing is shared in flight, answers are still stored and served from the cache.
/// </summary>
public sealed class CacheStage(ICacheStore store, CacheOptions options, bool coalesce = true) : IGatewayStage
{
    public const string StatusHeader = "x-gateway-cache";
    public const string TtlHeader = "x-gateway-cache-ttl";

    /// <summary>Whether identical requests in flight at once share one upstream call.</summary>
    public bool Coalesces => coalesce;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CachedCompletion>> _inFlight = new(StringComparer.Ordinal);
    private readonly ICacheStore _store = store;

    /// <summary>The leader's client went away (or its answer cannot be shared): followers make the call themselves.</summary>
    private sealed class LeaderGone : Exception;

    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        var control = context.Headers.Get("Cache-Control") ?? "";
        var optIn = string.Equals(context.Headers.Get(StatusHeader), "on", StringComparison.OrdinalIgnoreCase);
        var deterministic = request.Temperature is 0d || optIn;
        if (!options.Enabled || !deterministic || control.Contains("no-store", StringComparison.OrdinalIgnoreCase))
        {
            context.CacheStatus = context.ResponseHeaders[StatusHeader] = "bypass";
            return await next(context).ConfigureAwait(false);
        }

        var principal = context.RequirePrincipal();
        var scope = options.Scope == "key" || principal.Team is null ? "key:" + principal.KeyId : "team:" + principal.Team;
        // the usage record keeps the hash: it is computed once, here, when the cache looks it up
        var key = CacheKey.For(scope, context.RequestHash = CacheKey.RequestHash(request, context.RequireModel().Name));
        var ttl = Ttl(context);

        var fresh = control.Contains("no-cache", StringComparison.OrdinalIgnoreCase);
        if (!fresh && await LookupAsync(key, context.Aborted).ConfigureAwait(false) is { } cached)
            return Serve(context, cached, "hit");

        if (!coalesce)
        {
            // a flight of its own that no other caller can join (it is never put in flight)
            return await LeadAsync(context, next, new Flight(this, key, ttl,
                new TaskCompletionSource<CachedCompletion>(TaskCreationOptions.RunContinuationsAsynchronously))).ConfigureAwait(false);
        }

        while (true)
        {
            if (_inFlight.TryGetValue(key, out var leader))
            {
                try
                {
                    var shared = await leader.Task.WaitAsync(context.Aborted).ConfigureAwait(false);
                    return Serve(context, shared, "coalesced");
                }
                catch (LeaderGone)
                {
                    continue; // the leader gave up before an answer: one of the waiting callers leads now
                }
            }

            var mine = new TaskCompletionSource<CachedCompletion>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(key, mine)) continue;
            var flight = new Flight(this, key, ttl, mine);
            // Another leader may have answered between the lookup above and now (it stores before it stops being in
            // flight): look once more where that costs no I/O, so one answer is never fetched twice.
            if (!fresh && _store is ILocalCacheView local && local.GetLocal(key) is { } answered)
            {
                flight.Share(answered);
                return Serve(context, answered, "hit");
            }

            return await LeadAsync(context, next, flight).ConfigureAwait(false);
        }
    }

    /// <summary>A miss: this request calls upstream for everyone waiting on the same key, and stores the answer.</summary>
    private static async ValueTask<GatewayResult> LeadAsync(GatewayContext context, GatewayHandler next, Flight flight)
    {
        context.CacheStatus = context.ResponseHeaders[StatusHeader] = "miss";
        context.CacheKey = flight.Key;
        GatewayResult result;
        try
        {
            result = await next(context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            flight.Fail(ex, context.Aborted.IsCancellationRequested);
            throw;
        }

        switch (result)
        {
            case GatewayResult.Completion { Usage: { } usage } completion when context.Deployment is { } deployment:
                flight.Succeed(new CachedCompletion(completion.Body.ToJsonString(), usage, deployment.Name, context.Time.GetUtcNow(), context.UsageRecordId));
                return result;
            case GatewayResult.Streaming streaming when context.Deployment is { } deployment:
                // the answer is known only once the stream ends: it is put together as the client reads it
                return new GatewayResult.Streaming(new RecordingStream(streaming.Stream, flight, deployment.Name, context.Time, context.UsageRecordId));
            default:
                flight.Fail(new LeaderGone(), abandoned: true);
                return result;
        }
    }

    /// <summary>One upstream call shared by every caller of the same key, from the leader's start to its answer.</summary>
    private sealed class Flight(CacheStage stage, string key, TimeSpan ttl, TaskCompletionSource<CachedCompletion> shared)
    {
        public string Key => key;

        /// <summary>Hands the answer to every caller that joined and stores it. It is in the store before it stops being in
        /// flight (an in-process store, or a shared store's local copy, has it at once), so a later caller finds one or
        /// the other; a shared store's own write does not hold the answer up.</summary>
        public void Succeed(CachedCompletion entry)
        {
            _ = StoreAsync(entry);
            Share(entry);
        }

        private async Task StoreAsync(CachedCompletion entry)
        {
            try
            {
                await stage._store.SetAsync(key, entry, ttl, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // a cache that cannot store never fails the request that was answered
            }
        }

        /// <summary>Hands an answer that was already stored to every caller that joined.</summary>
        public void Share(CachedCompletion entry)
        {
            shared.TrySetResult(entry);
            Land();
        }

        /// <summary>A failure reaches every caller that joined; a leader whose client left lets them call themselves.</summary>
        public void Fail(Exception failure, bool abandoned)
        {
            shared.TrySetException(abandoned ? new LeaderGone() : failure);
            _ = shared.Task.Exception;
            Land();
        }

        private void Land() => stage._inFlight.TryRemove(new KeyValuePair<string, TaskCompletionSource<CachedCompletion>>(key, shared));
    }

    /// <summary>Passes a streamed miss through untouched while folding it into the completion it stands for.</summary>
    private sealed class RecordingStream(IChatStream inner, Flight flight, string deployment, TimeProvider time, string? requestId) : IChatStream, IStreamTrailer
    {
        private readonly StreamAccumulator _accumulator = new();
        private bool _done;

        public TokenUsage? Usage => inner.Usage;

        public string? Trailer => (inner as IStreamTrailer)?.Trailer;

        public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            JsonObject? chunk;
            try
            {
                chunk = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _done = true;
                flight.Fail(ex, cancellationToken.IsCancellationRequested);
                throw;
            }

            if (chunk is not null)
            {
                _accumulator.Add(chunk);
                return chunk;
            }

            if (!_done)
            {
                _done = true;
                if (inner.Usage is { } usage && _accumulator.TryBuild() is { } completion)
                {
                    completion["usage"] = usage.ToJson();
                    flight.Succeed(new CachedCompletion(completion.ToJsonString(), usage, deployment, time.GetUtcNow(), requestId));
                }
                else
                    flight.Fail(new LeaderGone(), abandoned: true);
            }

            return null;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_done)
            {
                _done = true;
                flight.Fail(new LeaderGone(), abandoned: true); // the client left before the end
            }

            await inner.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A store that cannot answer, or not within <see cref="CacheOptions.LookupTimeoutMs"/>, is a miss, never a
    /// failed or held-up request.</summary>
    private async ValueTask<CachedCompletion?> LookupAsync(string key, CancellationToken cancellationToken)
    {
        var lookup = _store.GetAsync(key, cancellationToken);
        if (lookup.IsCompletedSuccessfully) return lookup.Result; // in memory, or a shared store's local copy
        var pending = lookup.AsTask();
        try
        {
            return await pending.WaitAsync(TimeSpan.FromMilliseconds(options.LookupTimeoutMs), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return null;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private TimeSpan Ttl(GatewayContext context)
    {
        var seconds = options.DefaultTtlSeconds;
        if (context.Headers.Get(TtlHeader) is { } header)
        {
            if (!double.TryParse(header, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out seconds) || seconds <= 0 || double.IsNaN(seconds))
                throw Errors.Errors.InvalidRequest($"The {TtlHeader} header must be a positive number of seconds.", TtlHeader);
        }

        return TimeSpan.FromSeconds(Math.Min(seconds, options.MaxTtlSeconds));
    }

    private static GatewayResult Serve(GatewayContext context, CachedCompletion cached, string status)
    {
        context.CacheStatus = status;
        context.ResponseHeaders[StatusHeader] = status;
        var deployment = context.RequireModel().Deployments.FirstOrDefault(d => d.Name == cached.Deployment);
        if (deployment is not null)
        {
            context.Deployment = deployment;
            context.ResponseHeaders[GatewayHeaders.Provider] = deployment.Provider.ToLowerInvariant();
            context.ResponseHeaders[GatewayHeaders.Deployment] = deployment.Name;
        }

        var body = (JsonObject)JsonNode.Parse(cached.Body)!;
        return context.RequireRequest().Stream
            ? new GatewayResult.Streaming(new ReplayStream(body, cached.Usage))
            : new GatewayResult.Completion(body, cached.Usage);
    }
}

/// <summary>A cached chat.completion replayed as a stream: per choice a role chunk, its content (and tool calls), a finish chunk; then usage.</summary>
public sealed class ReplayStream(JsonObject completion, TokenUsage usage) : IChatStream
{
    private readonly Queue<JsonObject> _chunks = Build(completion, usage);

    public TokenUsage? Usage { get; private set; }

    private static Queue<JsonObject> Build(JsonObject c, TokenUsage usage)
    {
        var chunks = new Queue<JsonObject>();
        JsonObject Chunk(JsonArray choices, JsonObject? usageNode = null)
        {
            var chunk = ChatChunks.Like(c, choices);
            chunk["usage"] = usageNode;
            return chunk;
        }

        foreach (var choice in c["choices"] as JsonArray ?? [])
        {
            var index = choice?["index"]?.DeepClone() ?? 0;
            var message = choice?["message"] as JsonObject ?? [];
            chunks.Enqueue(Chunk([new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = "" }, ["finish_reason"] = null }]));
            var delta = new JsonObject();
            if (message["content"] is JsonValue content) delta["content"] = content.DeepClone();
            if (message["tool_calls"] is JsonArray calls)
                delta["tool_calls"] = new JsonArray([.. calls.Select((call, i) => { var copy = (JsonObject)call!.DeepClone(); copy["index"] = i; return (JsonNode)copy; })]);
            if (delta.Count > 0) chunks.Enqueue(Chunk([new JsonObject { ["index"] = index.DeepClone(), ["delta"] = delta, ["finish_reason"] = null }]));
            chunks.Enqueue(Chunk([new JsonObject { ["index"] = index.DeepClone(), ["delta"] = new JsonObject(), ["finish_reason"] = choice?["finish_reason"]?.DeepClone() }]));
        }

        chunks.Enqueue(Chunk([], usage.ToJson()));
        return chunks;
    }

    public ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_chunks.TryDequeue(out var chunk)) return ValueTask.FromResult<JsonObject?>(null);
        if (chunk["usage"] is JsonObject) Usage = usage;
        return ValueTask.FromResult<JsonObject?>(chunk);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
