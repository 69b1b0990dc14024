using Gateway.Core.Configuration;
using Gateway.Core.Health;
using Gateway.Core.Resilience;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;

namespace Gateway.Core.Tests.Health;

public sealed class ReadinessProbeTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A check whose answer the test decides, counting its calls and keeping the token it was given.</summary>
    private sealed class ScriptedCheck(string name, Func<CancellationToken, Task<HealthProbe>> answer) : IHealthCheck
    {
        private int _calls;

        public string Name => name;

        public int Calls => Volatile.Read(ref _calls);

        public TaskCompletionSource<CancellationToken> Token { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<HealthProbe> CheckAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            Token.TrySetResult(cancellationToken);
            return answer(cancellationToken);
        }

        public static ScriptedCheck Healthy(string name) => new(name, _ => Task.FromResult(HealthProbe.Healthy("reachable")));
    }

    private static ReadinessProbe Probe(TimeProvider time, IEnumerable<IHealthCheck> checks, Func<IReadOnlyList<DeploymentHealth>>? deployments = null,
        double timeoutSeconds = 3, double cacheSeconds = 2, Action<HealthStatus, IReadOnlyList<HealthCheckResult>>? changed = null) =>
        new(checks, deployments ?? (() => []), new HealthOptions { CheckTimeoutSeconds = timeoutSeconds, CacheSeconds = cacheSeconds }, time, changed);

    [Fact]
    public async Task Every_check_healthy_makes_the_instance_ready_with_each_check_named_timed_and_described()
    {
        var time = new FakeTimeProvider(Start);
        var slow = new TaskCompletionSource<HealthProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new ScriptedCheck("queue", _ => slow.Task);
        var probe = Probe(time, [ScriptedCheck.Healthy("table"), queue]);

        var reporting = probe.ReportAsync(CancellationToken.None);
        await queue.Token.Task;
        time.Advance(TimeSpan.FromMilliseconds(150));
        slow.SetResult(HealthProbe.Healthy("reachable"));
        var report = await reporting;

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(200, report.HttpStatus);
        Assert.Equal(Start, report.CheckedAt);
        Assert.Equal(["table", "queue"], report.Checks.Select(c => c.Name));
        // (the table answered at once, but its time may be taken on the thread pool after the clock moved)
        Assert.InRange(report.Checks[0].Duration, TimeSpan.Zero, TimeSpan.FromMilliseconds(150));
        Assert.Equal(TimeSpan.FromMilliseconds(150), report.Checks[1].Duration);
        Assert.All(report.Checks, c => Assert.Equal("reachable", c.Detail));
    }

    [Fact]
    public async Task A_failing_dependency_makes_the_instance_not_ready_and_the_others_are_still_reported()
    {
        var time = new FakeTimeProvider(Start);
        var probe = Probe(time, [ScriptedCheck.Healthy("table"), new ScriptedCheck("blob", _ => Task.FromResult(HealthProbe.Unhealthy("unreachable (ConnectionRefused)")))]);

        var report = await probe.ReportAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal(503, report.HttpStatus);
        Assert.Equal(HealthStatus.Healthy, report.Checks.Single(c => c.Name == "table").Status);
        Assert.Equal("unreachable (ConnectionRefused)", report.Checks.Single(c => c.Name == "blob").Detail);
    }

    [Fact]
    public async Task A_check_that_never_answers_is_unhealthy_at_its_timeout_and_is_cancelled()
    {
        var time = new FakeTimeProvider(Start);
        var hanging = new ScriptedCheck("durable", _ => new TaskCompletionSource<HealthProbe>().Task);
        var probe = Probe(time, [ScriptedCheck.Healthy("table"), hanging], timeoutSeconds: 3);

        var reporting = probe.ReportAsync(CancellationToken.None);
        var token = await hanging.Token.Task;
        time.Advance(TimeSpan.FromMilliseconds(2999));
        Assert.False(reporting.IsCompleted);
        Assert.False(token.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var report = await reporting;

        var durable = report.Checks.Single(c => c.Name == "durable");
        Assert.Equal(HealthStatus.Unhealthy, durable.Status);
        Assert.Equal("no answer within 3000 ms", durable.Detail);
        Assert.Equal(TimeSpan.FromSeconds(3), durable.Duration);
        Assert.True(token.IsCancellationRequested);
        Assert.Equal(503, report.HttpStatus);
    }

    [Fact]
    public async Task A_check_that_blocks_its_thread_still_cannot_hold_the_route_past_the_timeout()
    {
        var time = new FakeTimeProvider(Start);
        using var release = new ManualResetEventSlim();
        var blocking = new ScriptedCheck("table", _ =>
        {
            release.Wait();
            return Task.FromResult(HealthProbe.Healthy("reachable"));
        });
        var probe = Probe(time, [blocking], timeoutSeconds: 1);

        var reporting = probe.ReportAsync(CancellationToken.None);
        await blocking.Token.Task;
        time.Advance(TimeSpan.FromSeconds(1));
        var report = await reporting;
        release.Set();

        Assert.Equal("no answer within 1000 ms", report.Checks.Single().Detail);
    }

    [Fact]
    public async Task An_exception_is_shown_by_its_type_only_never_its_message()
    {
        var time = new FakeTimeProvider(Start);
        var probe = Probe(time, [new ScriptedCheck("queue", _ => throw new InvalidOperationException(
            "Server failed: AccountName=prodacct;AccountKey=c2VjcmV0;QueueEndpoint=https://prodacct.queue.core.windows.net"))]);

        var report = await probe.ReportAsync(CancellationToken.None);

        var queue = report.Checks.Single();
        Assert.Equal(HealthStatus.Unhealthy, queue.Status);
        Assert.Equal("failed: InvalidOperationException", queue.Detail);
        var json = report.ToJson().ToJsonString();
        Assert.DoesNotContain("prodacct", json, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_are_reused_for_the_cache_interval_after_a_run_ends_then_checked_again()
    {
        var time = new FakeTimeProvider(Start);
        var table = ScriptedCheck.Healthy("table");
        var probe = Probe(time, [table], cacheSeconds: 2);

        var first = await probe.ReportAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        var second = await probe.ReportAsync(CancellationToken.None);
        Assert.Equal(1, table.Calls);
        Assert.Equal(first.CheckedAt, second.CheckedAt);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var third = await probe.ReportAsync(CancellationToken.None);
        Assert.Equal(2, table.Calls);
        Assert.Equal(2, probe.Runs);
        Assert.Equal(Start.AddSeconds(2), third.CheckedAt);
    }

    [Fact]
    public async Task The_cache_interval_counts_from_the_end_of_a_slow_run()
    {
        var time = new FakeTimeProvider(Start);
        var slow = new TaskCompletionSource<HealthProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        var table = new ScriptedCheck("table", _ => slow.Task);
        var probe = Probe(time, [table], timeoutSeconds: 5, cacheSeconds: 2);

        var reporting = probe.ReportAsync(CancellationToken.None);
        await table.Token.Task;
        time.Advance(TimeSpan.FromSeconds(3));
        slow.SetResult(HealthProbe.Healthy("reachable"));
        await reporting;
        time.Advance(TimeSpan.FromSeconds(1));
        await probe.ReportAsync(CancellationToken.None);

        Assert.Equal(1, table.Calls);
    }

    [Fact]
    public async Task Probes_that_arrive_during_a_run_join_it()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new TaskCompletionSource<HealthProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        var table = new ScriptedCheck("table", _ => gate.Task);
        var probe = Probe(time, [table]);

        var probes = Enumerable.Range(0, 8).Select(_ => probe.ReportAsync(CancellationToken.None)).ToList();
        await table.Token.Task;
        gate.SetResult(HealthProbe.Healthy("reachable"));
        var reports = await Task.WhenAll(probes);

        Assert.Equal(1, table.Calls);
        Assert.Equal(1, probe.Runs);
        Assert.All(reports, r => Assert.Equal(HealthStatus.Healthy, r.Status));
    }

    [Fact]
    public async Task A_prober_that_gives_up_does_not_cancel_the_shared_run()
    {
        var time = new FakeTimeProvider(Start);
        var gate = new TaskCompletionSource<HealthProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        var table = new ScriptedCheck("table", _ => gate.Task);
        var probe = Probe(time, [table]);
        using var gaveUp = new CancellationTokenSource();

        var abandoned = probe.ReportAsync(gaveUp.Token);
        var token = await table.Token.Task;
        await gaveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.False(token.IsCancellationRequested);
        gate.SetResult(HealthProbe.Healthy("reachable"));

        Assert.Equal(HealthStatus.Healthy, (await probe.ReportAsync(CancellationToken.None)).Status);
        Assert.Equal(1, table.Calls);
    }

    [Fact]
    public async Task An_open_circuit_is_degraded_but_ready_and_shows_at_once_even_while_check_results_are_reused()
    {
        var time = new FakeTimeProvider(Start);
        var catalog = ModelCatalog.Create(new CatalogOptions
        {
            Deployments =
            [
                new DeploymentOptions { Name = "east", Provider = "mock", Model = "mock-1" },
                new DeploymentOptions { Name = "west", Provider = "mock", Model = "mock-1" },
            ],
            Models = [new ModelOptions { Name = "m1", Deployments = ["east", "west"] }],
        }, TestSecrets.None);
        var breakers = new DeploymentBreakers(new ResilienceOptions { MinimumThroughput = 2, FailureRatio = 0.5 }, time);
        var table = ScriptedCheck.Healthy("table");
        var probe = Probe(time, [table], () => DeploymentHealth.Of(catalog, breakers));

        var before = await probe.ReportAsync(CancellationToken.None);
        Assert.Equal(HealthStatus.Healthy, before.Status);
        Assert.All(before.Deployments, d => Assert.Equal("closed", d.Breaker));

        time.Advance(TimeSpan.FromSeconds(1));
        await BreakerFailures.OpenAsync(breakers, "east");
        var after = await probe.ReportAsync(CancellationToken.None);

        Assert.Equal(1, table.Calls);
        Assert.Equal(HealthStatus.Degraded, after.Status);
        Assert.Equal(200, after.HttpStatus);
        var east = after.Deployments.Single(d => d.Name == "east");
        Assert.Equal(HealthStatus.Degraded, east.Status);
        Assert.Equal("open", east.Breaker);
        Assert.StartsWith("circuit open since 2026-11-25T10:00:01Z", east.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, after.Deployments.Single(d => d.Name == "west").Status);
    }

    [Fact]
    public async Task A_change_of_the_dependencies_status_is_told_once_per_change()
    {
        var time = new FakeTimeProvider(Start);
        var answer = HealthProbe.Unhealthy("unreachable (ConnectionRefused)");
        var changes = new List<(HealthStatus Status, string Failing)>();
        var probe = Probe(time, [new ScriptedCheck("table", _ => Task.FromResult(answer))], cacheSeconds: 0,
            changed: (status, results) => changes.Add((status, string.Join(",", results.Where(r => r.Status != HealthStatus.Healthy).Select(r => r.Name)))));

        await probe.ReportAsync(CancellationToken.None);
        await probe.ReportAsync(CancellationToken.None);
        answer = HealthProbe.Healthy("reachable");
        await probe.ReportAsync(CancellationToken.None);
        await probe.ReportAsync(CancellationToken.None);

        Assert.Equal(4, probe.Runs);
        Assert.Equal([(HealthStatus.Unhealthy, "table"), (HealthStatus.Healthy, "")], changes);
    }

    [Fact]
    public void Invalid_options_are_refused_naming_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() => new ReadinessProbe([], () => [], new HealthOptions { CheckTimeoutSeconds = 0 }, TimeProvider.System));
        Assert.Contains("Gateway:Health:CheckTimeoutSeconds", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Opens a deployment's breaker the way failing upstream calls do.</summary>
internal static class BreakerFailures
{
    public static async Task OpenAsync(DeploymentBreakers breakers, string deployment)
    {
        for (var i = 0; i < 3 && breakers.StateOf(deployment) != CircuitState.Open; i++)
        {
            try
            {
                await breakers.For(deployment).ExecuteAsync<int>(_ => throw Errors.Errors.UpstreamError("mock", 503));
            }
            catch (Errors.GatewayException)
            {
            }
        }

        Assert.Equal(CircuitState.Open, breakers.StateOf(deployment));
        // the breakers hear of the change just after it is made
        Assert.True(SpinWait.SpinUntil(() => breakers.Events.Any(e => e.Deployment == deployment && e.State == CircuitState.Open), TimeSpan.FromSeconds(10)));
    }
}
