using System.Collections.Concurrent;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Protocol;
using Gateway.Core.Routing;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Caching;

/// <summary>The exact-match response cache and de-duplication of identical requests in flight.</summary>
[Trait("Category", "Pipeline")]
public sealed class CacheTests
{
    private static ChatRequest Parse(string json) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void The_key_ignores_what_cannot_change_the_answer_and_normalises_the_rest()
    {
        var a = CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"stream":true,"user":"alice","max_tokens":10}"""), "gpt-4o", "team:a");
        var b = CacheKey.For(Parse("""{"max_tokens":10.0,"messages":[{"content":"hi","role":"user"}],"temperature":0.0,"model":"alias-of-x","user":"bob","metadata":{"r":"1"}}"""), "gpt-4o", "team:a");
        Assert.Equal(a, b);
        Assert.Equal(a, CacheKey.For(Parse("""{"model":"x","temperature":0e0,"messages":[{"role":"user","content":"hi"}],"max_tokens":1e1}"""), "gpt-4o", "team:a"));
        Assert.StartsWith("team:a|", a, StringComparison.Ordinal);
        Assert.Matches("^team:a\\|[0-9a-f]{64}$", a);
        Assert.NotEqual(a, CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi!"}],"max_tokens":10}"""), "gpt-4o", "team:a"));
        Assert.NotEqual(a, CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":11}"""), "gpt-4o", "team:a"));
        Assert.NotEqual(a, CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":10,"seed":1}"""), "gpt-4o", "team:a"));
        Assert.NotEqual(a, CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":10}"""), "gpt-4o-mini", "team:a"));
        Assert.NotEqual(a, CacheKey.For(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":10}"""), "gpt-4o", "team:b"));
    }

    [Fact]
    public void The_request_hash_is_the_key_without_its_scope_and_names_no_one()
    {
        var request = Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"user":"alice"}""");
        var hash = CacheKey.RequestHash(request, "gpt-4o");
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal("team:a|" + hash, CacheKey.For(request, "gpt-4o", "team:a"));
        Assert.Equal("key:k1|" + hash, CacheKey.For(request, "gpt-4o", "key:k1"));
        Assert.Equal(hash, CacheKey.RequestHash(Parse("""{"model":"x","temperature":0,"messages":[{"role":"user","content":"hi"}],"user":"bob"}"""), "gpt-4o"));
    }

    [Fact]
    public void The_prefix_hash_covers_the_model_tools_and_the_turns_before_the_last_user_message()
    {
        const string Tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}]";
        string Conversation(string system, string last, string tools = Tools) =>
            $$"""{"model":"x",{{tools}}{{(tools.Length > 0 ? "," : "")}}"messages":[{"role":"system","content":"{{system}}"},{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":"{{last}}"}]}""";
        var a = Parse(Conversation("You are a tax assistant.", "first question"));
        Assert.Equal(3, a.PrefixMessageCount);
        var prefix = CacheKey.PrefixHash(a, "gpt-4o");
        Assert.Matches("^[0-9a-f]{64}$", prefix);
        // the last turn differs: one prefix, two requests
        Assert.Equal(prefix, CacheKey.PrefixHash(Parse(Conversation("You are a tax assistant.", "another question")), "gpt-4o"));
        Assert.NotEqual(CacheKey.RequestHash(a, "gpt-4o"), CacheKey.RequestHash(Parse(Conversation("You are a tax assistant.", "another question")), "gpt-4o"));
        // the system message, the tools or the model differ: another prefix
        Assert.NotEqual(prefix, CacheKey.PrefixHash(Parse(Conversation("You are a travel assistant.", "first question")), "gpt-4o"));
        Assert.NotEqual(prefix, CacheKey.PrefixHash(Parse(Conversation("You are a tax assistant.", "first question", tools: "")), "gpt-4o"));
        Assert.NotEqual(prefix, CacheKey.PrefixHash(a, "gpt-4o-mini"));
        // one user message and no tools: nothing before it to share
        Assert.Null(CacheKey.PrefixHash(Parse("""{"model":"x","messages":[{"role":"user","content":"hi"}]}"""), "gpt-4o"));
        Assert.NotNull(CacheKey.PrefixHash(Parse($$"""{"model":"x",{{Tools}},"messages":[{"role":"user","content":"hi"}]}"""), "gpt-4o"));
    }

    private static async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string TeamA, string TeamB)> Gateway(TimeProvider time, DeploymentOptions deployment, int maxAttempts = 3)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [deployment], Models = [new ModelOptions { Name = "m", Deployments = [deployment.Name] }] },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = maxAttempts },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, time, usage: usage, features: TestFeatures.Current);
        var (_, a) = await runtime.Keys.CreateAsync(new CreateKeyRequest("a", null, "alpha", [], new Dictionary<string, string>()), default);
        var (_, b) = await runtime.Keys.CreateAsync(new CreateKeyRequest("b", null, "beta", [], new Dictionary<string, string>()), default);
        return (runtime, usage, a, b);
    }

    private static async Task<(GatewayContext Context, ChatCompletionOutcome Outcome, string Text)> Send(GatewayRuntime runtime, string key, string json, IDictionary<string, string>? headers = null)
    {
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key, headers), json);
        return (sent.Context, sent.Outcome, sent.Text);
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task A_miss_records_the_entry_it_created_and_the_entry_names_that_request_so_an_erasure_can_find_it()
    {
        var (runtime, usage, key, _) = await Gateway(TimeProvider.System, new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" });
        const string Json = """{"model":"m","temperature":0,"user":"alice","messages":[{"role":"user","content":"whose answer"}]}""";
        var (miss, _, _) = await Send(runtime, key, Json);
        var (hit, _, _) = await Send(runtime, key, Json.Replace("alice", "bob", StringComparison.Ordinal));
        Assert.Equal(("miss", "hit"), (miss.CacheStatus, hit.CacheStatus));

        var created = Assert.Single(usage.Records, r => r.CacheStatus == "miss");
        Assert.Equal("alice", created.User);
        Assert.NotNull(created.CacheKey);
        Assert.Null(Assert.Single(usage.Records, r => r.CacheStatus == "hit").CacheKey); // a hit created nothing
        var entry = await runtime.Cache.GetAsync(created.CacheKey, default);
        Assert.Equal(created.RequestId, entry!.RequestId);
        Assert.True(await ((ICacheEntryRemoval)runtime.Cache).RemoveAsync(created.CacheKey, default));
        Assert.Null(await runtime.Cache.GetAsync(created.CacheKey, default));
        Assert.False(await ((ICacheEntryRemoval)runtime.Cache).RemoveAsync(created.CacheKey, default));
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task A_repeated_workload_is_answered_from_the_cache_at_no_cost_and_the_saving_is_recorded()
    {
        var (runtime, usage, key, _) = await Gateway(TimeProvider.System, new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" });
        var random = new Random(3);
        var hits = 0;
        for (var i = 0; i < 500; i++)
        {
            var prompt = random.Next(50);
            var (context, outcome, _) = await Send(runtime, key, $$"""{"model":"m","temperature":0,"messages":[{"role":"user","content":"question {{prompt}}"}]}""");
            Assert.Null(outcome.Error);
            if (context.ResponseHeaders[CacheStage.StatusHeader] == "hit") hits++;
        }

        Assert.True(hits >= 400, $"hit ratio {hits / 5.0:0.0} %"); // ≥ 80 %
        var hitRecords = usage.Records.Where(r => r.CacheStatus == "hit").ToList();
        Assert.Equal(hits, hitRecords.Count);
        Assert.All(hitRecords, r => Assert.Equal(0m, r.CostUsd));
        Assert.All(hitRecords, r => Assert.True(r.SavedUsd > 0m));
        Assert.All(usage.Records.Where(r => r.CacheStatus == "miss"), r => Assert.True(r.CostUsd > 0m));
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task Only_deterministic_requests_are_cached_unless_the_client_opts_in_and_cache_control_is_honoured()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var (runtime, _, key, other) = await Gateway(time, new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" });
        const string zero = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}]}""";
        const string warm = """{"model":"m","temperature":0.7,"messages":[{"role":"user","content":"hi"}]}""";
        string Status((GatewayContext Context, ChatCompletionOutcome, string) r) => r.Context.ResponseHeaders[CacheStage.StatusHeader];

        Assert.Equal("miss", Status(await Send(runtime, key, zero)));
        Assert.Equal("hit", Status(await Send(runtime, key, zero)));
        Assert.Equal("miss", Status(await Send(runtime, other, zero))); // another team never shares
        Assert.Equal("bypass", Status(await Send(runtime, key, warm)));
        var optIn = new Dictionary<string, string> { ["x-gateway-cache"] = "on" };
        Assert.Equal("miss", Status(await Send(runtime, key, warm, optIn)));
        Assert.Equal("hit", Status(await Send(runtime, key, warm, optIn)));
        Assert.Equal("bypass", Status(await Send(runtime, key, zero, new Dictionary<string, string> { ["Cache-Control"] = "no-store" })));
        Assert.Equal("miss", Status(await Send(runtime, key, zero, new Dictionary<string, string> { ["Cache-Control"] = "no-cache" })));

        // a short TTL from the client: gone after it
        const string brief = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"brief"}]}""";
        var ttl = new Dictionary<string, string> { [CacheStage.TtlHeader] = "30" };
        Assert.Equal("miss", Status(await Send(runtime, key, brief, ttl)));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("hit", Status(await Send(runtime, key, brief)));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("miss", Status(await Send(runtime, key, brief)));
        Assert.Equal(400, (await Send(runtime, key, brief, new Dictionary<string, string> { [CacheStage.TtlHeader] = "soon" })).Outcome.Error!.Status);
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task A_streaming_client_gets_the_cached_answer_replayed()
    {
        var (runtime, _, key, _) = await Gateway(TimeProvider.System, new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" });
        var (_, first, firstText) = await Send(runtime, key, """{"model":"m","temperature":0,"messages":[{"role":"user","content":"tell me"}]}""");
        var content = (string)System.Text.Json.Nodes.JsonNode.Parse(firstText)!["choices"]![0]!["message"]!["content"]!;
        var (context, _, streamed) = await Send(runtime, key, """{"model":"m","temperature":0,"stream":true,"messages":[{"role":"user","content":"tell me"}]}""");
        Assert.Equal("hit", context.ResponseHeaders[CacheStage.StatusHeader]);
        var events = streamed.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var replayed = string.Concat(events.Where(e => e.StartsWith("data: {", StringComparison.Ordinal))
            .Select(e => System.Text.Json.Nodes.JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray().Select(c => (string?)c!["delta"]!["content"] ?? "")).SelectMany(x => x));
        Assert.Equal(content, replayed);
        Assert.Contains(events, e => e.Contains("\"usage\":{", StringComparison.Ordinal));
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task One_hundred_concurrent_identical_requests_make_exactly_one_upstream_call()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(1)));
        upstream.Enqueue(new FakeReply { Text = "the shared answer", PromptTokens = 12, CompletionTokens = 3 });
        var (runtime, usage, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" });
        const string json = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"same question"}]}""";

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => Send(runtime, key, json))));

        Assert.Equal(1, upstream.RequestCount);
        Assert.All(results, r => Assert.Null(r.Outcome.Error));
        Assert.All(results, r => Assert.Contains("the shared answer", r.Text, StringComparison.Ordinal));
        Assert.Equal(99, results.Count(r => r.Context.ResponseHeaders[CacheStage.StatusHeader] is "coalesced" or "hit"));
        Assert.Equal(1, usage.Records.Count(r => r.CostUsd > 0m));
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.ProviderQuotas)]
    public async Task A_stopped_model_or_provider_is_refused_for_cache_hits_and_for_callers_joining_a_call_in_flight()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var (runtime, _, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" });
        const string cached = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"cache me"}]}""";
        Assert.Null((await Send(runtime, key, cached)).Outcome.Error);
        Assert.Equal("hit", (await Send(runtime, key, cached)).Context.ResponseHeaders[CacheStage.StatusHeader]);

        // (Invalidate stands for the instance's periodic re-read of the stop list)
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "m", "runaway costs"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        var hit = await Send(runtime, key, cached);
        Assert.Equal("model_stopped", hit.Outcome.Error?.Code);
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(false, StopTarget.Model, "m"), TimeSpan.FromSeconds(5), default);
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Provider, "openai", "incident 7"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        Assert.Equal("provider_stopped", (await Send(runtime, key, cached)).Outcome.Error?.Code);

        // a caller that arrives while the leader's call is in flight is refused too, once the stop is known
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(false, StopTarget.Provider, "openai"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(2)));
        upstream.Enqueue(new FakeReply { Text = "slow answer" });
        const string joined = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"join me while stopped"}]}""";
        var leader = Task.Run(() => Send(runtime, key, joined));
        while (upstream.RequestCount < 2) await Task.Delay(10);
        await runtime.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "m", "stop now"), TimeSpan.FromSeconds(5), default);
        runtime.Upstream.Invalidate();
        var follower = await Send(runtime, key, joined);
        Assert.Equal("model_stopped", follower.Outcome.Error?.Code);
        await leader;
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task Streaming_callers_join_an_identical_call_in_flight()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var (runtime, _, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" });

        // the leader's answer takes 2 s: long enough for every follower to join it, even on a loaded machine
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(2)));
        upstream.Enqueue(new FakeReply { Text = "joined answer" });
        const string plain = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"join me"}]}""";
        const string streaming = """{"model":"m","temperature":0,"stream":true,"messages":[{"role":"user","content":"join me"}]}""";
        var leader = Task.Run(() => Send(runtime, key, plain));
        while (upstream.RequestCount == 0) await Task.Delay(10);
        var followers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Send(runtime, key, streaming)));
        await leader;
        Assert.Equal(1, upstream.RequestCount);
        Assert.All(followers, f => Assert.Equal("coalesced", f.Context.ResponseHeaders[CacheStage.StatusHeader]));
        Assert.All(followers, f => Assert.Contains("joined answer", f.Text, StringComparison.Ordinal));

    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task A_failure_of_the_shared_call_reaches_every_caller_that_joined_it()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        // the one upstream call hangs past the deployment's 2 s timeout; no retry, so the leader fails with a 504
        var (runtime, _, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K", TimeoutSeconds = 2 },
            maxAttempts: 1);
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(10)));
        const string plain = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"fail me"}]}""";
        const string streaming = """{"model":"m","temperature":0,"stream":true,"messages":[{"role":"user","content":"fail me"}]}""";
        var leader = Task.Run(() => Send(runtime, key, plain));
        while (upstream.RequestCount == 0) await Task.Delay(10);
        var followers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Send(runtime, key, i % 2 == 0 ? plain : streaming)));
        var all = followers.Append(await leader).ToList();

        Assert.Equal(1, upstream.RequestCount);
        Assert.All(all, r => Assert.Equal(504, r.Outcome.Error?.Status));
        Assert.All(all, r => Assert.Equal("upstream_timeout", r.Outcome.Error?.Code));
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task A_streamed_miss_is_stored_and_a_streaming_leader_shares_its_answer_with_every_caller()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var (runtime, usage, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" });
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(2)));
        upstream.Enqueue(new FakeReply { Text = "streamed and shared", PromptTokens = 9, CompletionTokens = 4 });
        const string plain = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"stream me"}]}""";
        const string streaming = """{"model":"m","temperature":0,"stream":true,"messages":[{"role":"user","content":"stream me"}]}""";

        var leader = Task.Run(() => Send(runtime, key, streaming));
        while (upstream.RequestCount == 0) await Task.Delay(10);
        var followers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Send(runtime, key, i % 2 == 0 ? plain : streaming)));
        var first = await leader;

        Assert.Equal(1, upstream.RequestCount);
        Assert.Equal("miss", first.Context.ResponseHeaders[CacheStage.StatusHeader]);
        Assert.Contains("streamed", first.Text, StringComparison.Ordinal);
        Assert.All(followers, f => Assert.Null(f.Outcome.Error));
        Assert.All(followers, f => Assert.Contains(f.Context.ResponseHeaders[CacheStage.StatusHeader], new[] { "coalesced", "hit" }));
        foreach (var f in followers.Where((_, i) => i % 2 == 0))
            Assert.Equal("streamed and shared", (string)System.Text.Json.Nodes.JsonNode.Parse(f.Text)!["choices"]![0]!["message"]!["content"]!);

        // stored once the stream ended: a later caller, streaming or not, is a hit with the same answer and usage
        var later = await Send(runtime, key, plain);
        Assert.Equal("hit", later.Context.ResponseHeaders[CacheStage.StatusHeader]);
        var body = System.Text.Json.Nodes.JsonNode.Parse(later.Text)!;
        Assert.Equal("streamed and shared", (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("stop", (string)body["choices"]![0]!["finish_reason"]!);
        Assert.Equal(9, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(1, upstream.RequestCount);
        Assert.Equal(1, usage.Records.Count(r => r.CostUsd > 0m));
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task When_the_leader_goes_away_before_its_answer_the_callers_that_joined_make_the_call_themselves()
    {
        await using var upstream = await FakeLlmServer.StartAsync();
        var (runtime, _, key, _) = await Gateway(TimeProvider.System,
            new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = upstream.BaseUri + "v1", ApiKeySetting = "K" });
        upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(2)));
        upstream.Enqueue(new FakeReply { Text = "never read" });
        upstream.Enqueue(new FakeReply { Text = "second-call" });
        const string streaming = """{"model":"m","temperature":0,"stream":true,"messages":[{"role":"user","content":"leave early"}]}""";
        const string plain = """{"model":"m","temperature":0,"messages":[{"role":"user","content":"leave early"}]}""";

        var body = Encoding.UTF8.GetBytes(streaming);
        var leaderContext = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, runtime.Time, default);
        var leader = Task.Run(async () => await runtime.ChatCompletions.HandleAsync(leaderContext));
        while (upstream.RequestCount == 0) await Task.Delay(10);
        var followers = Enumerable.Range(0, 6).Select(i => Task.Run(() => Send(runtime, key, i % 2 == 0 ? plain : streaming))).ToList();
        var opened = await leader;
        await ((GatewayResult.Streaming)opened.Result!).Stream.DisposeAsync(); // the leader's client leaves before reading a chunk
        await leaderContext.CompleteAsync();
        var results = await Task.WhenAll(followers);

        Assert.All(results, r => Assert.Null(r.Outcome.Error));
        Assert.All(results, r => Assert.Contains("second-call", r.Text, StringComparison.Ordinal));
        Assert.Equal(2, upstream.RequestCount);
    }

    [FeatureFact(GatewayFeature.Cache)]
    public async Task A_store_that_does_not_answer_neither_holds_up_nor_fails_a_request()
    {
        var store = new StuckStore();
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["mock"] }],
            },
            Cache = new CacheOptions { LookupTimeoutMs = 50 },
        };
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, cache: store, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("a", null, "alpha", [], new Dictionary<string, string>()), default);

        // the lookup never finishes and the write never finishes: both requests are answered, as misses
        for (var i = 0; i < 2; i++)
        {
            var (context, outcome, text) = await Send(runtime, key, """{"model":"m","temperature":0,"messages":[{"role":"user","content":"stuck"}]}""").WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Null(outcome.Error);
            Assert.Equal("miss", context.ResponseHeaders[CacheStage.StatusHeader]);
            Assert.Contains("chat.completion", text, StringComparison.Ordinal);
        }

        Assert.Equal(2, store.Gets);
        Assert.Equal(2, store.Sets);
    }

    /// <summary>A shared store that has stopped answering (neither succeeds nor fails).</summary>
    private sealed class StuckStore : ICacheStore
    {
        private readonly TaskCompletionSource _never = new();
        public int Gets;
        public int Sets;

        public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Gets);
            await _never.Task;
            return null;
        }

        public async ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Sets);
            await _never.Task;
        }
    }

    [FeatureFact(GatewayFeature.Cache, GatewayFeature.Coalescing)]
    public async Task An_answer_stored_between_the_lookup_and_becoming_the_leader_is_served_not_fetched_again()
    {
        // the store's lookup ran before another leader's answer landed; its in-memory view already has it
        var store = new LateStore();
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["mock"] }],
            },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.None, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, cache: store, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("a", null, "alpha", [], new Dictionary<string, string>()), default);
        store.Answer = new CachedCompletion("""{"id":"c1","object":"chat.completion","created":1,"model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","content":"landed"},"finish_reason":"stop"}]}""",
            new TokenUsage(3, 1), "mock", DateTimeOffset.UnixEpoch);

        var (context, outcome, text) = await Send(runtime, key, """{"model":"m","temperature":0,"messages":[{"role":"user","content":"late"}]}""");

        Assert.Null(outcome.Error);
        Assert.Equal("hit", context.ResponseHeaders[CacheStage.StatusHeader]);
        Assert.Contains("landed", text, StringComparison.Ordinal);
        Assert.Equal(0, context.Attempts); // no upstream call
        Assert.Equal(0m, Assert.Single(usage.Records).CostUsd);
    }

    private sealed class LateStore : ICacheStore, ILocalCacheView
    {
        public CachedCompletion? Answer { get; set; }

        public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<CachedCompletion?>(null);

        public CachedCompletion? GetLocal(string key) => Answer;

        public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
