using System.Collections.Concurrent;
using Gateway.Core.Budgets;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Budgets;

/// <summary>The instance side of budgets: leases far from the limit, exact reservations near it, stops, alerts.</summary>
public sealed class BudgetGateTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Counts the round trips an instance makes to the budgets.</summary>
    private sealed class CountingBackend(IBudgetBackend inner) : IBudgetBackend
    {
        public ConcurrentDictionary<BudgetOp, int> Calls { get; } = new();
        public int Lists;

        public Task<BudgetCommandResult> SendAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
        {
            Calls.AddOrUpdate(command.Op, 1, (_, n) => n + 1);
            return inner.SendAsync(scope, command, cancellationToken);
        }

        public Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Lists);
            return inner.ListAsync(cancellationToken);
        }

        public int Count(BudgetOp op) => Calls.GetValueOrDefault(op);
    }

    private sealed class CollectingAlerts : IBudgetAlertSink
    {
        public ConcurrentQueue<BudgetAlert> Alerts { get; } = new();

        public Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
        {
            foreach (var a in alerts) Alerts.Enqueue(a);
            return Task.CompletedTask;
        }
    }

    private static BudgetDefinition Budget(BudgetScope scope, decimal limit, decimal maxRequestCost) => new()
    {
        Scope = scope,
        LimitUsd = limit,
        Period = BudgetPeriodKind.Monthly,
        Leases = new BudgetLeasePolicy { MaxRequestCostUsd = maxRequestCost },
    };

    private static async Task Configure(IBudgetBackend backend, BudgetDefinition definition) =>
        await backend.SendAsync(definition.Scope, new BudgetCommand { Op = BudgetOp.Configure, Definition = definition }, default);

    private static BudgetGate Gate(IBudgetBackend backend, TimeProvider time, string instance, IBudgetAlertSink? alerts = null) =>
        new(backend, time, new BudgetGateOptions { InstanceId = instance }, alerts);

    private static readonly BudgetScope Team = BudgetScope.ForTeam("payments");

    private static IEnumerable<BudgetScope> PathFor(string team) => BudgetGate.PathOf("key_1", "alice", team, new Dictionary<string, string>());

    [Fact]
    public async Task Without_budgets_requests_make_no_round_trip_beyond_the_periodic_directory_read()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new CountingBackend(new InMemoryBudgetBackend(time));
        var gate = Gate(backend, time, "i1");
        for (var i = 0; i < 50; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, default);
            Assert.Same(BudgetAdmission.Unlimited, admission);
        }

        Assert.Equal(1, backend.Lists);
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public async Task Far_from_the_limit_requests_are_admitted_under_a_lease_without_a_round_trip_each()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new CountingBackend(new InMemoryBudgetBackend(time));
        await Configure(backend, Budget(Team, 1000m, 1m));
        var gate = Gate(backend, time, "i1");

        for (var i = 0; i < 100; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, default);
            Assert.True(admission.Admitted);
            await gate.SettleAsync($"r{i}", admission, 0.004m, default);
        }

        // one lease (20 × 0.01 each time it runs out); no per-request reservation
        Assert.Equal(0, backend.Count(BudgetOp.Reserve));
        Assert.True(backend.Count(BudgetOp.Lease) <= 6, $"{backend.Count(BudgetOp.Lease)} leases");
        await gate.ReportAsync(default);
        var state = await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Get }, default);
        Assert.Equal(100 * 0.004m, state.Snapshot!.SpentUsd);
    }

    [Fact]
    public async Task A_busy_instance_leases_for_its_recent_spend_so_round_trips_and_budget_state_do_not_grow_with_traffic()
    {
        var time = new FakeTimeProvider(Start);
        var store = new OneBudgetBackend(time);
        var backend = new CountingBackend(store);
        await Configure(backend, Budget(Team, 1_000_000m, 1m));
        var gate = Gate(backend, time, "i1");

        // 20,000 requests over 200 s (100 per second) at 1 cent each: 20 × max cost per lease would mean 1,000 leases
        for (var i = 0; i < 20_000; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, default);
            Assert.True(admission.Admitted);
            await gate.SettleAsync($"r{i}", admission, 0.01m, default);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        await gate.ReportAsync(default);
        Assert.True(backend.Count(BudgetOp.Lease) <= 15, $"{backend.Count(BudgetOp.Lease)} leases");
        var state = await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Get }, default);
        Assert.Equal(200m, state.Snapshot!.SpentUsd); // every cent counted once
        // lease reports carry the spend, not the request ids: the budget's state does not grow per request
        Assert.Empty(store.State!.SettledRequests);
        Assert.True(store.State.ClosedLeases.Count <= 15);
        Assert.Equal(0, backend.Count(BudgetOp.Reserve));
    }

    [Fact]
    public async Task A_retired_lease_whose_return_fails_is_returned_at_the_next_report_and_counted_once()
    {
        var time = new FakeTimeProvider(Start);
        var store = new OneBudgetBackend(time);
        var flaky = new FailingReturns(store) { Failures = 1 };
        await Configure(store, Budget(Team, 1000m, 1m));
        var gate = Gate(flaky, time, "i1");
        var first = await gate.AdmitAsync("r1", PathFor("payments"), 0.5m, 0.5m, default);
        await gate.SettleAsync("r1", first, 0.5m, default);
        // a stop revokes the lease: the next report retires it and returns it, and that return fails once
        await store.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Stop, Reason = "test" }, default);
        await Assert.ThrowsAsync<TimeoutException>(() => gate.ReportAsync(default));
        await gate.ReportAsync(default);
        await gate.ReportAsync(default); // nothing left to return

        Assert.Equal(2, flaky.Returns); // the failed one and the retry
        Assert.Equal(0.5m, store.State!.SpentUsd);
    }

    /// <summary>The first returns fail as an unreachable entity would (after the budget applied them or not).</summary>
    private sealed class FailingReturns(IBudgetBackend inner) : IBudgetBackend
    {
        public int Failures;
        public int Returns;

        public async Task<BudgetCommandResult> SendAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
        {
            if (command.Op != BudgetOp.ReturnLease) return await inner.SendAsync(scope, command, cancellationToken);
            Returns++;
            var result = await inner.SendAsync(scope, command, cancellationToken);
            if (Failures-- > 0) throw new TimeoutException("the orchestration did not finish in time");
            return result;
        }

        public Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);
    }

    /// <summary>One budget's state kept as the entity keeps it, readable by the test.</summary>
    private sealed class OneBudgetBackend(TimeProvider time) : IBudgetBackend
    {
        private readonly Lock _gate = new();

        public BudgetState? State { get; private set; }

        public Task<BudgetCommandResult> SendAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                var (next, result) = BudgetCommands.Apply(State, command, time.GetUtcNow());
                State = next;
                return Task.FromResult(result);
            }
        }

        public async Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken) =>
            State is null ? [] : [(await SendAsync(State.Definition.Scope, new BudgetCommand { Op = BudgetOp.Get }, cancellationToken)).Snapshot!];
    }

    [Fact]
    public async Task Near_the_limit_each_request_reserves_at_the_budget_and_the_refusal_names_the_scope()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new CountingBackend(new InMemoryBudgetBackend(time));
        await Configure(backend, Budget(Team, 0.05m, 0.01m));
        var gate = Gate(backend, time, "i1");

        var admitted = 0;
        for (var i = 0; i < 8; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, default);
            if (!admission.Admitted)
            {
                Assert.Equal(Team, admission.RefusedBy);
                Assert.Equal(BudgetRefusal.LimitReached, admission.Refusal);
                continue;
            }

            admitted++;
            await gate.SettleAsync($"r{i}", admission, 0.01m, default);
        }

        Assert.Equal(5, admitted);
        Assert.True(backend.Count(BudgetOp.Reserve) >= 5);
        var state = await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Get }, default);
        Assert.Equal(0.05m, state.Snapshot!.SpentUsd);
    }

    [Fact]
    public async Task A_request_must_fit_every_budget_on_its_path_and_a_refusal_releases_what_it_held()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new InMemoryBudgetBackend(time);
        await Configure(backend, Budget(BudgetScope.ForKey("key_1"), 0.02m, 0.01m));
        await Configure(backend, Budget(BudgetScope.Global, 100m, 0.01m));
        var gate = Gate(backend, time, "i1");

        var first = await gate.AdmitAsync("a", PathFor("payments"), 0.01m, 0.01m, default);
        var second = await gate.AdmitAsync("b", PathFor("payments"), 0.01m, 0.01m, default);
        var third = await gate.AdmitAsync("c", PathFor("payments"), 0.01m, 0.01m, default);
        Assert.True(first.Admitted && second.Admitted);
        Assert.False(third.Admitted);
        Assert.Equal(BudgetScope.ForKey("key_1"), third.RefusedBy);
        Assert.Equal(2, first.Holds.Length);

        // another key is limited only by the global budget
        var other = await gate.AdmitAsync("d", BudgetGate.PathOf("key_2", null, null, new Dictionary<string, string>()), 0.01m, 0.01m, default);
        Assert.True(other.Admitted);
    }

    [Fact]
    public async Task An_emergency_stop_reaches_an_instance_within_its_refresh_interval()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new InMemoryBudgetBackend(time);
        await Configure(backend, Budget(Team, 1000m, 1m));
        var gate = Gate(backend, time, "i1");
        Assert.True((await gate.AdmitAsync("a", PathFor("payments"), 0.01m, 0.01m, default)).Admitted);

        await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Stop, Reason = "runaway agent" }, default);
        time.Advance(TimeSpan.FromSeconds(5));
        var refused = await gate.AdmitAsync("b", PathFor("payments"), 0.01m, 0.01m, default);
        Assert.False(refused.Admitted);
        Assert.Equal(BudgetRefusal.Stopped, refused.Refusal);

        await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Resume }, default);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True((await gate.AdmitAsync("c", PathFor("payments"), 0.01m, 0.01m, default)).Admitted);
    }

    [Fact]
    public async Task Each_threshold_raises_one_alert_per_period()
    {
        var time = new FakeTimeProvider(Start);
        var backend = new InMemoryBudgetBackend(time);
        await Configure(backend, Budget(Team, 1m, 0.1m));
        var alerts = new CollectingAlerts();
        var gate = Gate(backend, time, "i1", alerts);
        for (var i = 0; i < 12; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.1m, 0.1m, default);
            if (admission.Admitted) await gate.SettleAsync($"r{i}", admission, 0.1m, default);
            await gate.ReportAsync(default);
        }

        Assert.Equal([0.5m, 0.8m, 1.0m], alerts.Alerts.Select(a => a.Threshold).Order());
        Assert.All(alerts.Alerts, a => Assert.Equal(Team, a.Scope));
        Assert.Equal(3, alerts.Alerts.Select(a => a.Id).Distinct().Count());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_hundred_concurrent_requests_on_four_instances_against_a_budget_that_fits_fifty(bool maxTokensSet)
    {
        const decimal cost = 0.01m;
        const int instances = 4;
        var time = TimeProvider.System;
        var backend = new InMemoryBudgetBackend(time);
        await Configure(backend, Budget(Team, 50 * cost, cost));
        var gates = Enumerable.Range(0, instances).Select(i => Gate(backend, time, $"i{i}")).ToArray();
        var random = new Random(7);
        var actuals = Enumerable.Range(0, 200).Select(_ => maxTokensSet ? cost * random.Next(50, 101) / 100 : cost * random.Next(50, 151) / 100).ToArray();

        var admittedSpend = 0m;
        var admittedCount = 0;
        var gate = new Lock();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var instance = gates[i % instances];
            var admission = await instance.AdmitAsync($"r{i}", PathFor("payments"), cost, maxTokensSet ? cost : null, default);
            if (!admission.Admitted) return;
            await Task.Yield();
            await instance.SettleAsync($"r{i}", admission, actuals[i], default);
            lock (gate)
            {
                admittedSpend += actuals[i];
                admittedCount++;
            }
        })));
        foreach (var g in gates) await g.ReportAsync(default);

        var snapshot = (await backend.SendAsync(Team, new BudgetCommand { Op = BudgetOp.Get }, default)).Snapshot!;
        // the budget counted exactly what was admitted and settled
        Assert.Equal(admittedSpend, snapshot.SpentUsd);
        Assert.True(admittedCount > 0);
        if (maxTokensSet) Assert.True(admittedSpend <= 50 * cost, $"{admittedSpend} > {50 * cost}");
        // without max_tokens a request may overrun its estimate: at most one request's maximum cost per instance (+1 at the budget)
        else Assert.True(admittedSpend <= (50 * cost) + ((instances + 1) * cost), $"{admittedSpend} exceeds the stated bound");
    }
}
