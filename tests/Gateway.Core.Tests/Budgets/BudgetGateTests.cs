using System.Collections.Concurrent;
using Gateway.Core.Budgets;
using Gateway.Core.Entities;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Budgets;

/// <summary>The instance side of budgets: leases far from the limit, exact reservations near it, stops, alerts.</summary>
public sealed class BudgetGateTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1.5);

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

    private static BudgetGate Gate(IEntityChannel channel, TimeProvider time, string instance, IBudgetAlertSink? alerts = null) =>
        new(channel, time, new BudgetGateOptions { InstanceId = instance }, alerts);

    private static async Task<BudgetCommandResult> Command(BudgetGate gate, BudgetScope scope, BudgetCommand command) =>
        await gate.CommandAsync(scope, command, default);

    private static async Task Configure(BudgetGate gate, BudgetDefinition definition) =>
        await Command(gate, definition.Scope, new BudgetCommand { Op = BudgetOp.Configure, Definition = definition });

    private static async Task<BudgetState> StateOf(TestEntityChannel channel, TimeProvider time, BudgetScope scope) =>
        (await Gate(channel, time, "reader").Entities.ReadAsync(scope.ToString(), default)).State!;

    private static readonly BudgetScope Team = BudgetScope.ForTeam("payments");

    private static IEnumerable<BudgetScope> PathFor(string team) => BudgetGate.PathOf("key_1", "alice", team, new Dictionary<string, string>());

    [Fact]
    public async Task Without_budgets_requests_send_nothing_and_read_the_directory_once()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        for (var i = 0; i < 50; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, Window, default);
            Assert.Same(BudgetAdmission.Unlimited, admission);
        }

        Assert.Equal(1, channel.Lists);
        Assert.Equal(0, channel.Messages);
    }

    [Fact]
    public async Task Far_from_the_limit_requests_are_admitted_under_a_lease_without_a_message_each()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(Team, 1000m, 1m));

        for (var i = 0; i < 100; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, Window, default);
            Assert.True(admission.Admitted);
            await gate.SettleAsync($"r{i}", admission, 0.004m, default);
        }

        // leases of 20 × 0.01, each fetched ahead of need; no per-request reservation
        Assert.Equal(0, channel.Count("budget", "Reserve"));
        Assert.InRange(channel.Count("budget", "Lease"), 1, 12);
        await gate.ReportAsync(default);
        Assert.Equal(100 * 0.004m, (await StateOf(channel, time, Team)).SpentUsd);
    }

    [Fact]
    public async Task A_lease_is_renewed_in_the_background_before_it_runs_out_so_no_request_waits_for_it()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(Team, 1000m, 1m));
        Assert.True((await gate.AdmitAsync("r0", PathFor("payments"), 0.01m, 0.01m, Window, default)).Admitted);
        // (the first request was admitted at once against the lease being asked for; wait for the budget's grant)
        for (var i = 0; i < 400 && (await StateOf(channel, time, Team)).Leases.IsEmpty; i++) await Task.Delay(5);
        await Task.Delay(50);
        var leases = channel.Count("budget", "Lease");

        // the budget stops answering: the renewal asked for below stays queued at the entity
        channel.Pause();
        for (var i = 1; i < 15; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, TimeSpan.Zero, default);
            Assert.True(admission.Admitted, $"request {i} waited for the budget");
        }

        // past half of the lease a renewal was sent (in the background), while requests went on under the current lease
        for (var i = 0; i < 400 && channel.Count("budget", "Lease") == leases; i++) await Task.Delay(5);
        Assert.Equal(leases + 1, channel.Count("budget", "Lease"));
        await channel.ResumeAsync();
    }

    [Fact]
    public async Task A_fresh_instance_admits_its_first_request_at_once_against_the_lease_it_asks_for_and_the_budget_counts_it()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var admin = Gate(channel, time, "admin");
        await Configure(admin, Budget(Team, 1000m, 1m));
        var gate = Gate(channel, time, "fresh");
        await gate.RefreshAsync(default);

        // the budget is slow to answer: the first requests do not wait for it
        channel.Pause();
        for (var i = 0; i < 5; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, TimeSpan.Zero, default);
            Assert.True(admission.Admitted, $"request {i} waited for the budget");
            await gate.SettleAsync($"r{i}", admission, 0.01m, default);
        }

        // 20 requests' worth (0.2 USD), within 10 % of what was left: the sixth and later would wait for the grant
        await channel.ResumeAsync();
        for (var i = 0; i < 400 && (await StateOf(channel, time, Team)).Leases.IsEmpty; i++) await Task.Delay(5);
        var lease = Assert.Single((await StateOf(channel, time, Team)).Leases);
        Assert.Equal(0.2m, lease.Value.AmountUsd);
        await gate.FlushAsync(default);
        Assert.Equal(0.05m, (await StateOf(channel, time, Team)).SpentUsd);
    }

    [Fact]
    public async Task A_client_that_leaves_while_the_lease_is_asked_for_orphans_nothing_and_spend_is_reported_without_a_later_request()
    {
        var time = TimeProvider.System;
        var channel = new TestEntityChannel(time);
        var admin = Gate(channel, time, "admin");
        await Configure(admin, Budget(Team, 1000m, 1m));
        using var gate = new BudgetGate(channel, time, new BudgetGateOptions { InstanceId = "leaver", ReportSeconds = 0.2 });
        await gate.RefreshAsync(default);

        // the budget is slow; the client gives up while the lease is being asked for
        channel.Pause();
        using var leaving = new CancellationTokenSource();
        var admission = await gate.AdmitAsync("r0", PathFor("payments"), 0.01m, 0.01m, TimeSpan.FromSeconds(1), leaving.Token);
        await leaving.CancelAsync();
        await gate.SettleAsync("r0", admission, 0.01m, default);
        await channel.ResumeAsync();

        // the renewal completed regardless of the client: the lease is this instance's, not left to expire in 900 s
        for (var i = 0; i < 400 && (await StateOf(channel, time, Team)).Leases.IsEmpty; i++) await Task.Delay(5);
        Assert.Contains((await StateOf(channel, time, Team)).Leases, l => l.Key.Contains("leaver", StringComparison.Ordinal));
        // and its spend reaches the budget on the gate's timer, with no later request to carry it
        for (var i = 0; i < 400 && (await StateOf(channel, time, Team)).SpentUsd == 0m; i++) await Task.Delay(10);
        Assert.Equal(0.01m, (await StateOf(channel, time, Team)).SpentUsd);
    }

    [Fact]
    public async Task A_fresh_instance_takes_no_provisional_lease_where_the_budget_decides_each_request()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var admin = Gate(channel, time, "admin");
        await Configure(admin, Budget(Team, 1m, 1m));
        var gate = Gate(channel, time, "fresh");
        await gate.RefreshAsync(default);
        channel.Pause();
        var pending = gate.AdmitAsync("r0", PathFor("payments"), 0.01m, 0.01m, Window, default);
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        await channel.ResumeAsync();
        // (the reader waiting for the budget's reply reads again on the fake clock)
        for (var i = 0; i < 100 && !pending.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(20));
            await Task.Delay(5);
        }

        Assert.True((await pending).Admitted);
        Assert.Empty((await StateOf(channel, time, Team)).Leases);
    }

    [Fact]
    public async Task A_busy_instance_leases_for_its_recent_spend_so_messages_and_budget_state_do_not_grow_with_traffic()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(Team, 1_000_000m, 1m));

        // 20,000 requests over 200 s (100 per second) at 1 cent each: 20 × max cost per lease would mean 1,000 leases
        for (var i = 0; i < 20_000; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, Window, default);
            Assert.True(admission.Admitted);
            await gate.SettleAsync($"r{i}", admission, 0.01m, default);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        await gate.FlushAsync(default);
        Assert.True(channel.Count("budget", "Lease") <= 20, $"{channel.Count("budget", "Lease")} leases");
        var state = await StateOf(channel, time, Team);
        Assert.Equal(200m, state.SpentUsd); // every cent counted once
        // lease reports carry the spend, not the request ids: the budget's state does not grow per request
        Assert.Empty(state.SettledRequests);
        Assert.True(state.ClosedLeases.Count <= 20);
        Assert.Equal(0, channel.Count("budget", "Reserve"));
    }

    [Fact]
    public async Task A_retired_lease_whose_return_fails_is_returned_at_the_next_report_and_counted_once()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var admin = Gate(channel, time, "admin");
        await Configure(admin, Budget(Team, 1000m, 1m));
        var gate = Gate(channel, time, "i1");
        var first = await gate.AdmitAsync("r1", PathFor("payments"), 0.5m, 0.5m, Window, default);
        await gate.SettleAsync("r1", first, 0.5m, default);
        // a stop revokes the lease: the next directory read retires it, and its return fails once (after it was applied)
        await Command(admin, Team, new BudgetCommand { Op = BudgetOp.Stop, Reason = "test" });
        var returns = 0;
        channel.FailAfter = (_, m) => m.Command?.Contains("ReturnLease", StringComparison.Ordinal) == true && returns++ == 0 ? new TimeoutException("unreachable") : null;
        await gate.RefreshAsync(default);
        await Assert.ThrowsAsync<TimeoutException>(() => gate.ReportAsync(default));
        await gate.ReportAsync(default);
        await gate.ReportAsync(default); // nothing left to return

        Assert.Equal(2, channel.Count("budget", "ReturnLease"));
        Assert.Equal(0.5m, (await StateOf(channel, time, Team)).SpentUsd);
    }

    [Fact]
    public async Task Near_the_limit_each_request_reserves_at_the_budget_and_the_refusal_names_the_scope()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(Team, 0.05m, 0.01m));

        var admitted = 0;
        for (var i = 0; i < 8; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, Window, default);
            if (!admission.Admitted)
            {
                Assert.Equal(Team, admission.RefusedBy);
                Assert.Equal(BudgetRefusal.LimitReached, admission.Refusal);
                continue;
            }

            admitted++;
            await gate.SettleAsync($"r{i}", admission, 0.01m, default);
            await gate.ReportAsync(default);
        }

        Assert.Equal(5, admitted);
        Assert.True(channel.Count("budget", "Reserve") >= 5);
        var state = await StateOf(channel, time, Team);
        Assert.Equal(0.05m, state.SpentUsd);
        // exact-mode settles are reported as one running total per instance: no id per request is kept
        Assert.Empty(state.SettledRequests);
        Assert.Empty(state.Reservations);
    }

    [Fact]
    public async Task Near_the_limit_concurrent_reservations_travel_in_a_few_messages_and_are_decided_in_order()
    {
        var time = TimeProvider.System;
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        // requests may cost up to 1 USD: with 0.5 USD left the budget decides each one itself
        await Configure(gate, Budget(Team, 0.5m, 1m));

        var admissions = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => gate.AdmitAsync($"r{i}", PathFor("payments"), 0.01m, 0.01m, Window, default))));

        Assert.Equal(50, admissions.Count(a => a.Admitted));
        Assert.All(admissions.Where(a => !a.Admitted), a => Assert.Equal(BudgetRefusal.LimitReached, a.Refusal));
        Assert.Equal(200, channel.Count("budget", "Reserve"));
        Assert.True(channel.Messages < 60, $"{channel.Messages} messages for 200 reservations");
    }

    [Fact]
    public async Task A_budget_that_does_not_answer_within_the_window_leaves_the_request_undecided_and_releases_a_late_reservation()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(Team, 0.05m, 0.01m));
        Assert.True((await gate.AdmitAsync("r0", PathFor("payments"), 0.01m, 0.01m, Window, default)).Admitted);

        channel.Pause();
        var pending = gate.AdmitAsync("r1", PathFor("payments"), 0.01m, 0.01m, Window, default);
        while (channel.Count("budget", "Reserve") < 2) await Task.Delay(5);
        time.Advance(TimeSpan.FromSeconds(2));
        var admission = await pending;
        Assert.False(admission.Admitted);
        Assert.Equal(BudgetRefusal.Undecided, admission.Refusal);

        // the budget runs the held reservation after its decide-by time: refused there; the release that followed is harmless
        await channel.ResumeAsync();
        await gate.ReportAsync(default);
        var state = await StateOf(channel, time, Team);
        Assert.False(state.Reservations.ContainsKey("r1"));
    }

    [Fact]
    public async Task A_request_must_fit_every_budget_on_its_path_and_a_refusal_releases_what_it_held()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var gate = Gate(channel, time, "i1");
        await Configure(gate, Budget(BudgetScope.ForKey("key_1"), 0.02m, 0.01m));
        await Configure(gate, Budget(BudgetScope.Global, 100m, 0.01m));

        var first = await gate.AdmitAsync("a", PathFor("payments"), 0.01m, 0.01m, Window, default);
        var second = await gate.AdmitAsync("b", PathFor("payments"), 0.01m, 0.01m, Window, default);
        var third = await gate.AdmitAsync("c", PathFor("payments"), 0.01m, 0.01m, Window, default);
        Assert.True(first.Admitted && second.Admitted);
        Assert.False(third.Admitted);
        Assert.Equal(BudgetScope.ForKey("key_1"), third.RefusedBy);
        Assert.Equal(2, first.Holds.Length);

        // another key is limited only by the global budget
        var other = await gate.AdmitAsync("d", BudgetGate.PathOf("key_2", null, null, new Dictionary<string, string>()), 0.01m, 0.01m, Window, default);
        Assert.True(other.Admitted);
    }

    [Fact]
    public async Task An_emergency_stop_reaches_an_instance_within_its_refresh_interval()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var admin = Gate(channel, time, "admin");
        await Configure(admin, Budget(Team, 1000m, 1m));
        var gate = Gate(channel, time, "i1");
        Assert.True((await gate.AdmitAsync("a", PathFor("payments"), 0.01m, 0.01m, Window, default)).Admitted);

        await Command(admin, Team, new BudgetCommand { Op = BudgetOp.Stop, Reason = "runaway agent" });
        time.Advance(TimeSpan.FromSeconds(10));
        var refused = await gate.AdmitAsync("b", PathFor("payments"), 0.01m, 0.01m, Window, default);
        Assert.False(refused.Admitted);
        Assert.Equal(BudgetRefusal.Stopped, refused.Refusal);

        await Command(admin, Team, new BudgetCommand { Op = BudgetOp.Resume });
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await gate.AdmitAsync("c", PathFor("payments"), 0.01m, 0.01m, Window, default)).Admitted);
    }

    [Fact]
    public async Task Each_threshold_raises_one_alert_per_period_delivered_by_the_instance_that_raised_it()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var alerts = new CollectingAlerts();
        var others = new CollectingAlerts();
        var gate = Gate(channel, time, "i1", alerts);
        var bystander = Gate(channel, time, "i2", others);
        await Configure(gate, Budget(Team, 1m, 0.1m));
        for (var i = 0; i < 12; i++)
        {
            var admission = await gate.AdmitAsync($"r{i}", PathFor("payments"), 0.1m, 0.1m, Window, default);
            if (admission.Admitted) await gate.SettleAsync($"r{i}", admission, 0.1m, default);
            await gate.ReportAsync(default);
            await bystander.RefreshAsync(default);
            await gate.RefreshAsync(default);
        }

        Assert.Equal([0.5m, 0.8m, 1.0m], alerts.Alerts.Select(a => a.Threshold).Order());
        Assert.All(alerts.Alerts, a => Assert.Equal(Team, a.Scope));
        Assert.Equal(3, alerts.Alerts.Select(a => a.Id).Distinct().Count());
        Assert.Empty(others.Alerts);
        // delivered alerts are acknowledged: the outbox is empty
        var (_, envelope) = await gate.Entities.ReadAsync(Team.ToString(), default);
        Assert.Empty(envelope!.Outbox);
    }

    [Fact]
    public async Task An_alert_its_raiser_never_delivered_is_delivered_by_another_instance_after_the_takeover_time()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new TestEntityChannel(time);
        var others = new CollectingAlerts();
        var gone = Gate(channel, time, "i1");
        var bystander = Gate(channel, time, "i2", others);
        await Configure(gone, Budget(Team, 1m, 0.1m));
        await gone.CommandAsync(Team, new BudgetCommand { Op = BudgetOp.Settle, RequestId = "x", AmountUsd = 0.6m }, default);

        await bystander.RefreshAsync(default);
        Assert.Empty(others.Alerts);
        time.Advance(TimeSpan.FromSeconds(31));
        await bystander.RefreshAsync(default);
        Assert.Equal(0.5m, Assert.Single(others.Alerts).Threshold);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_hundred_concurrent_requests_on_four_instances_against_a_budget_that_fits_fifty(bool maxTokensSet)
    {
        const decimal cost = 0.01m;
        const int instances = 4;
        var time = TimeProvider.System;
        var channel = new TestEntityChannel(time);
        var gates = Enumerable.Range(0, instances).Select(i => Gate(channel, time, $"i{i}")).ToArray();
        // without max_tokens a request may cost up to 1.5 × its estimate: the budget's maximum request cost M says so
        // (PRECISION.md assumes every settled cost is at most M; with M = cost this test once overran by chance)
        var maxRequest = maxTokensSet ? cost : 1.5m * cost;
        await Configure(gates[0], Budget(Team, 50 * cost, maxRequest));
        var random = new Random(7);
        var actuals = Enumerable.Range(0, 200).Select(_ => maxTokensSet ? cost * random.Next(50, 101) / 100 : cost * random.Next(50, 151) / 100).ToArray();

        var admittedSpend = 0m;
        var admittedCount = 0;
        var gate = new Lock();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var instance = gates[i % instances];
            var admission = await instance.AdmitAsync($"r{i}", PathFor("payments"), cost, maxTokensSet ? cost : null, TimeSpan.FromSeconds(30), default);
            Assert.NotEqual(BudgetRefusal.Undecided, admission.Refusal);
            if (!admission.Admitted) return;
            await Task.Yield();
            await instance.SettleAsync($"r{i}", admission, actuals[i], default);
            lock (gate)
            {
                admittedSpend += actuals[i];
                admittedCount++;
            }
        })));
        foreach (var g in gates) await g.FlushAsync(default);

        var state = await StateOf(channel, time, Team);
        // the budget counted exactly what was admitted and settled
        Assert.Equal(admittedSpend, state.SpentUsd);
        Assert.True(admittedCount > 0);
        if (maxTokensSet) Assert.True(admittedSpend <= 50 * cost, $"{admittedSpend} > {50 * cost}");
        // without max_tokens a request may overrun its estimate: at most one request's maximum cost per instance (+1 at the
        // budget), plus — PRECISION.md, "A fresh instance" — a provisional lease P per fresh instance that admitted against
        // one within a round trip of the budget reaching exact mode (P ≤ LeaseRequests × M and ≤ ProvisionalShare × what was left)
        else
        {
            var options = new BudgetGateOptions();
            var provisional = Math.Min(options.LeaseRequests * maxRequest, (decimal)options.ProvisionalShare * 50 * cost);
            var bound = (50 * cost) + ((instances + 1) * maxRequest) + (instances * provisional);
            Assert.True(admittedSpend <= bound, $"{admittedSpend} exceeds the stated bound {bound}");
        }
    }
}
