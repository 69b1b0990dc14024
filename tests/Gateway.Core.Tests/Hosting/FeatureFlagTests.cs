using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Budgets;
using Gateway.Core.Caching;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Gateway.Core.RateLimits;
using Gateway.Core.Routing;
using Gateway.Core.Safety;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Hosting;

/// <summary>
/// Each feature flag off: its stage is not in the pipeline at all, and the behaviour it stands for is gone (the same
/// request that the capability refuses or answers itself with the flag on goes through to the upstream with it off).
/// These tests set the flags themselves, so they run the same in every run of the feature matrix.
/// </summary>
public sealed class FeatureFlagTests : IAsyncLifetime
{
    private FakeLlmServer _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeLlmServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<(GatewayRuntime Runtime, string Key, InMemoryAuditSink Audit)> Gateway(GatewayFeatures features, Action<GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions
            {
                Deployments = [new DeploymentOptions { Name = "oai", Provider = "openai", Model = "gpt-4o", Endpoint = _upstream.BaseUri + "v1", ApiKeySetting = "K" }],
                Models = [new ModelOptions { Name = "m", Deployments = ["oai"] }],
            },
        };
        configure?.Invoke(options);
        var audit = new InMemoryAuditSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, TimeProvider.System,
            audit: audit, features: features);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", "alice", "team-a", [], new Dictionary<string, string>()), default);
        return (runtime, key, audit);
    }

    private Task<SentRequest> Send(GatewayRuntime runtime, string key, string content = "hello", double? temperature = 0) =>
        GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            $$"""{"model":"m",{{(temperature is null ? "" : "\"temperature\":0,")}}"messages":[{"role":"user","content":"{{content}}"}]}""");

    private static bool Has<T>(GatewayRuntime runtime) => runtime.Pipeline.Stages.Any(s => s is T);

    // ---- the record itself ----

    [Fact]
    public void Every_capability_is_on_by_default_and_each_switches_alone()
    {
        Assert.All(Enum.GetValues<GatewayFeature>(), f => Assert.True(GatewayFeatures.All.IsOn(f)));
        Assert.Empty(GatewayFeatures.All.Off);
        Assert.Equal(["Cache", "Coalescing", "Budgets", "RateLimits", "ProviderQuotas", "Safety", "Audit", "Analytics"], GatewayFeatures.Names);
        foreach (var feature in Enum.GetValues<GatewayFeature>())
        {
            var off = GatewayFeatures.Without(feature);
            Assert.Equal([feature], off.Off);
            Assert.False(off.IsOn(feature));
            Assert.False((bool)off.ToJson()[feature.ToString()]!);
            Assert.Equal(GatewayFeatures.All, off.With(feature, true));
        }
    }

    [Theory]
    [InlineData("cache", GatewayFeature.Cache)]
    [InlineData("RATELIMITS", GatewayFeature.RateLimits)]
    [InlineData("ProviderQuotas", GatewayFeature.ProviderQuotas)]
    public void Flag_names_are_read_without_regard_to_case(string name, GatewayFeature expected) => Assert.Equal(expected, GatewayFeatures.Parse(name));

    [Theory]
    [InlineData("Caching")]
    [InlineData("RateLimit")]
    [InlineData("3")]
    [InlineData("Cache,Budgets")]
    [InlineData("")]
    public void A_name_that_is_not_a_flag_is_not_read_as_one(string name) => Assert.Null(GatewayFeatures.Parse(name));

    [Fact]
    public void A_route_of_a_capability_that_is_off_is_a_404_feature_disabled_naming_the_flag()
    {
        GatewayFeatures.All.Demand(GatewayFeature.Budgets);
        var ex = Assert.Throws<Errors.GatewayException>(() => GatewayFeatures.Without(GatewayFeature.Budgets).Demand(GatewayFeature.Budgets));
        Assert.Equal(404, ex.Error.Status);
        Assert.Equal("feature_disabled", ex.Error.Code);
        Assert.Equal("invalid_request_error", ex.Error.Type);
        Assert.Contains("FeatureManagement:Budgets", ex.Error.Message, StringComparison.Ordinal);
        GatewayFeatures.Without(GatewayFeature.Budgets).Demand(GatewayFeature.Cache);
    }

    [Fact]
    public async Task With_every_flag_on_every_stage_is_there_and_with_every_flag_off_only_the_core_remains()
    {
        var (all, _, _) = await Gateway(GatewayFeatures.All);
        Assert.Equal(
            ["AuthenticationStage", "UsageStage", "RequestParsingStage", "ModelResolutionStage", "StopStage", "RateLimitEarlyRefusalStage", "SafetyStage",
                "CostEstimateStage", "RateLimitStage", "BudgetStage", "CacheStage", "ProviderStage"],
            all.Pipeline.Stages.Select(s => s.GetType().Name));
        var (none, key, _) = await Gateway(GatewayFeatures.Without(Enum.GetValues<GatewayFeature>()));
        Assert.Equal(["AuthenticationStage", "UsageStage", "RequestParsingStage", "ModelResolutionStage", "CostEstimateStage", "ProviderStage"],
            none.Pipeline.Stages.Select(s => s.GetType().Name));
        _upstream.Enqueue(new FakeReply { Text = "bare" });
        var sent = await Send(none, key);
        Assert.Null(sent.Outcome.Error);
        Assert.Contains("bare", sent.Text, StringComparison.Ordinal);
    }

    // ---- one flag off at a time ----

    [Fact]
    public async Task Cache_off_has_no_cache_stage_and_identical_requests_both_go_upstream()
    {
        var (on, onKey, _) = await Gateway(GatewayFeatures.All);
        _upstream.Enqueue(new FakeReply { Text = "first" });
        await Send(on, onKey);
        var hit = await Send(on, onKey);
        Assert.Equal("hit", hit.Context.ResponseHeaders[CacheStage.StatusHeader]);
        Assert.Equal(1, _upstream.RequestCount);

        _upstream.Reset();
        var (off, key, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.Cache));
        Assert.False(Has<CacheStage>(off));
        _upstream.Enqueue(new FakeReply { Text = "one" });
        _upstream.Enqueue(new FakeReply { Text = "two" });
        var first = await Send(off, key);
        var second = await Send(off, key);
        Assert.Equal(2, _upstream.RequestCount);
        Assert.Contains("one", first.Text, StringComparison.Ordinal);
        Assert.Contains("two", second.Text, StringComparison.Ordinal);
        Assert.False(second.Context.ResponseHeaders.ContainsKey(CacheStage.StatusHeader));
        Assert.Equal("none", second.Context.CacheStatus); // what the usage record says of a request the cache never saw
    }

    [Fact]
    public async Task Coalescing_off_sends_concurrent_identical_requests_upstream_each_while_the_cache_still_answers_a_later_one()
    {
        var (runtime, key, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.Coalescing));
        var cache = Assert.Single(runtime.Pipeline.Stages.OfType<CacheStage>());
        Assert.False(cache.Coalesces);
        Assert.True(Assert.Single(new GatewayRuntime(runtime.Options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System)
            .Pipeline.Stages.OfType<CacheStage>()).Coalesces);

        // the first call hangs long enough for the second, identical one to arrive while it is in flight
        _upstream.EnqueueFault(new Hang(TimeSpan.FromSeconds(2)));
        _upstream.Enqueue(new FakeReply { Text = "slow" });
        _upstream.Enqueue(new FakeReply { Text = "fast" });
        var leader = Task.Run(() => Send(runtime, key, "same"));
        while (_upstream.RequestCount == 0) await Task.Delay(10);
        var second = await Send(runtime, key, "same");
        var first = await leader;
        Assert.Equal(2, _upstream.RequestCount);
        Assert.Equal("miss", first.Context.ResponseHeaders[CacheStage.StatusHeader]);
        Assert.Equal("miss", second.Context.ResponseHeaders[CacheStage.StatusHeader]);

        var third = await Send(runtime, key, "same");
        Assert.Equal("hit", third.Context.ResponseHeaders[CacheStage.StatusHeader]);
        Assert.Equal(2, _upstream.RequestCount);
    }

    [Fact]
    public async Task Budgets_off_has_no_budget_stage_and_a_request_over_its_budget_passes()
    {
        async Task<SentRequest> OverBudget(GatewayFeatures features)
        {
            var (runtime, key, _) = await Gateway(features);
            // a stopped budget refuses everything it covers: as far over budget as a request can be
            var admin = new BudgetAdministration(runtime.Budgets);
            await admin.ConfigureAsync(new BudgetDefinition { Scope = BudgetScope.ForTeam("team-a"), LimitUsd = 0.01m }, default);
            await admin.RunAsync(BudgetScope.ForTeam("team-a"), BudgetOp.Stop, "over", default);
            _upstream.Enqueue(new FakeReply { Text = "answered" });
            return await Send(runtime, key, temperature: null);
        }

        var refused = await OverBudget(GatewayFeatures.All);
        Assert.Equal(429, refused.Outcome.Error?.Status);
        Assert.Equal(0, _upstream.RequestCount);

        var (off, _, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.Budgets));
        Assert.False(Has<BudgetStage>(off));
        var passed = await OverBudget(GatewayFeatures.Without(GatewayFeature.Budgets));
        Assert.Null(passed.Outcome.Error);
        Assert.Contains("answered", passed.Text, StringComparison.Ordinal);
        Assert.Equal(1, _upstream.RequestCount);
    }

    [Fact]
    public async Task Rate_limits_off_have_no_stages_no_429_and_no_ratelimit_headers()
    {
        void OnePerMinute(GatewayOptions o) => o.RateLimits = new RateLimitOptions { KeyRequestsPerMinute = 1 };
        var (on, onKey, _) = await Gateway(GatewayFeatures.All, OnePerMinute);
        _upstream.Enqueue(new FakeReply { Text = "a" });
        var allowed = await Send(on, onKey, "a");
        Assert.True(allowed.Context.ResponseHeaders.ContainsKey(RateLimitHeaders.LimitRequests));
        Assert.Equal(429, (await Send(on, onKey, "b")).Outcome.Error?.Status);

        var (off, key, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.RateLimits), OnePerMinute);
        Assert.False(Has<RateLimitStage>(off));
        Assert.False(Has<RateLimitEarlyRefusalStage>(off));
        for (var i = 0; i < 5; i++)
        {
            _upstream.Enqueue(new FakeReply { Text = "r" + i });
            var sent = await Send(off, key, "q" + i);
            Assert.Null(sent.Outcome.Error);
            Assert.DoesNotContain(sent.Context.ResponseHeaders.Keys, h => h.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Provider_quotas_off_have_no_stop_stage_and_neither_a_quota_nor_a_stop_refuses()
    {
        void OnePerMinute(GatewayOptions o)
        {
            o.Catalog.Deployments[0].RequestsPerMinute = 1;
            o.Upstream = new UpstreamOptions { MaxWaitSeconds = 0 };
        }

        var (on, onKey, _) = await Gateway(GatewayFeatures.All, OnePerMinute);
        _upstream.Enqueue(new FakeReply { Text = "a" });
        Assert.Null((await Send(on, onKey, "a")).Outcome.Error);
        Assert.Equal(429, (await Send(on, onKey, "b")).Outcome.Error?.Status);
        await on.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "m", "stop now"), TimeSpan.FromSeconds(5), default);
        on.Upstream.Invalidate();
        Assert.Equal("model_stopped", (await Send(on, onKey, "c")).Outcome.Error?.Code);

        _upstream.Reset();
        var (off, key, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.ProviderQuotas), OnePerMinute);
        Assert.False(Has<StopStage>(off));
        await off.Upstream.ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "m", "stop now"), TimeSpan.FromSeconds(5), default);
        off.Upstream.Invalidate();
        for (var i = 0; i < 3; i++)
        {
            _upstream.Enqueue(new FakeReply { Text = "r" + i });
            Assert.Null((await Send(off, key, "q" + i)).Outcome.Error);
        }

        Assert.Equal(3, _upstream.RequestCount);
    }

    [Fact]
    public async Task Safety_off_has_no_safety_stage_and_a_policy_that_would_block_passes()
    {
        const string Secret = "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        void Baseline(GatewayOptions o) => o.Safety = new SafetyOptions { Policy = "baseline" };
        var (on, onKey, _) = await Gateway(GatewayFeatures.All, Baseline);
        var blocked = await Send(on, onKey, Secret);
        Assert.Equal("content_filter", blocked.Outcome.Error?.Code);
        Assert.Equal(0, _upstream.RequestCount);

        var (off, key, _) = await Gateway(GatewayFeatures.Without(GatewayFeature.Safety), Baseline);
        Assert.False(Has<SafetyStage>(off));
        _upstream.Enqueue(new FakeReply { Text = "through" });
        var passed = await Send(off, key, Secret);
        Assert.Null(passed.Outcome.Error);
        Assert.Contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789", Assert.Single(_upstream.Requests).Body, StringComparison.Ordinal);
        Assert.False(passed.Context.ResponseHeaders.ContainsKey(SafetyStage.Header));
    }

    [Fact]
    public async Task Audit_off_records_no_event_even_with_a_sink_given()
    {
        async Task<(GatewayRuntime Runtime, InMemoryAuditSink Sink)> RefuseAndChange(GatewayFeatures features)
        {
            var (runtime, _, sink) = await Gateway(features);
            Assert.Equal(401, (await GatewayRequests.SendAsync(runtime, new BearerHeaders("gk-wrong-key-0123456789"), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""")).Outcome.Error?.Status);
            runtime.RefusedAuthentication.Flush(DateTimeOffset.MaxValue);
            await runtime.AdminAudit.ChangeAsync(new AuditActor("admin:test", null), AuditEventTypes.KeyCreated, "key:x",
                _ => Task.FromResult<System.Text.Json.Nodes.JsonNode?>(null), _ => Task.FromResult(new System.Text.Json.Nodes.JsonObject { ["id"] = "x" }), after => after, default);
            return (runtime, sink);
        }

        var (_, recorded) = await RefuseAndChange(GatewayFeatures.All);
        Assert.Equal(2, recorded.Events.Count);

        var (off, silent) = await RefuseAndChange(GatewayFeatures.Without(GatewayFeature.Audit));
        Assert.Same(NullAuditSink.Instance, off.Audit);
        Assert.Empty(silent.Events);
    }
}
