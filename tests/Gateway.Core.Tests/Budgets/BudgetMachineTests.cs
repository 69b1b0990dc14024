using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

public sealed class BudgetMachineTests
{
    private static readonly DateTimeOffset Now = T("2026-05-10T12:00:00Z");

    [Fact]
    public void Configure_starts_an_empty_calendar_month()
    {
        var outcome = BudgetMachine.Configure(null, Definition(100m), Now);
        var s = outcome.Result;
        Assert.Equal((BudgetScope.ForTeam("payments"), 100m, 0m, 0m, 100m), (s.Scope, s.LimitUsd, s.SpentUsd, s.ReservedUsd, s.RemainingUsd));
        Assert.Equal((T("2026-05-01T00:00:00Z"), T("2026-06-01T00:00:00Z")), (s.PeriodStart, s.PeriodEnd));
        Assert.False(s.Stopped);
        Assert.Empty(s.ThresholdsRaised);
        Assert.Empty(outcome.Alerts);
    }

    [Fact]
    public void A_lease_asked_for_with_a_commitment_is_granted_at_least_that_much_even_in_exact_mode_or_stopped()
    {
        var lease = TimeSpan.FromHours(1);
        // 1 USD left: below the exact-mode threshold (20 × the 1 USD maximum request cost): no lease…
        var state = BudgetMachine.Settle(New(10m, Now), "spent", 9m, Now).State;
        Assert.Equal(BudgetRefusal.ExactModeRequired, BudgetMachine.Lease(state, "i1", 0.5m, Now, lease).Result.Refusal);
        // …but one an instance already admitted requests against (provisionally) is granted what it committed
        var committed = BudgetMachine.Lease(state, "i1", 0.5m, Now, lease, "i1/p1", committedUsd: 0.5m);
        Assert.True(committed.Result.Granted);
        Assert.Equal(0.5m, committed.Result.Grant!.AmountUsd);
        Assert.Equal(0.5m, BudgetMachine.GetState(committed.State, Now).ReservedUsd);

        var stopped = BudgetMachine.Stop(New(10m, Now), "incident", Now).State;
        Assert.Equal(BudgetRefusal.Stopped, BudgetMachine.Lease(stopped, "i1", 0.5m, Now, lease).Result.Refusal);
        Assert.Equal(0.2m, BudgetMachine.Lease(stopped, "i1", 0.5m, Now, lease, "i1/p2", committedUsd: 0.2m).Result.Grant!.AmountUsd);

        // far from the limit the grant is the usual one, never below the commitment
        Assert.Equal(2m, BudgetMachine.Lease(New(1000m, Now), "i1", 2m, Now, lease, "i1/p3", committedUsd: 0.5m).Result.Grant!.AmountUsd);
    }

    [Fact]
    public void Invalid_definitions_are_refused()
    {
        Assert.Throws<ArgumentException>(() => BudgetMachine.Configure(null, Definition(-1m), Now));
        Assert.Throws<ArgumentException>(() => BudgetMachine.Configure(null, Definition(1m, zone: "Mars/Olympus"), Now));
        Assert.Throws<ArgumentException>(() => BudgetMachine.Configure(null, Definition(1m) with { AlertThresholds = [0m] }, Now));
        Assert.Throws<ArgumentException>(() => BudgetMachine.Configure(null, Definition(1m) with { Scope = new BudgetScope(BudgetScopeKind.Key, "") }, Now));
    }

    [Fact]
    public void Reserve_settle_release_move_money_between_reserved_and_spent()
    {
        var state = New(10m, Now);
        var reserved = BudgetMachine.Reserve(state, "r1", 3m, Now, Ttl);
        Assert.True(reserved.Result.Admitted);
        Assert.Equal(Now + Ttl, reserved.Result.ExpiresAt);
        Assert.Equal(7m, reserved.Result.RemainingUsd);
        state = BudgetMachine.Reserve(reserved.State, "r2", 2m, Now, Ttl).State;
        Assert.Equal(5m, BudgetMachine.GetState(state, Now).ReservedUsd);

        var settled = BudgetMachine.Settle(state, "r1", 2.5m, Now.AddSeconds(1));
        Assert.Equal(SettleKind.Settled, settled.Result.Kind);
        Assert.Equal(2.5m, settled.Result.SpentUsd);
        var released = BudgetMachine.Release(settled.State, "r2", Now.AddSeconds(2));
        Assert.Equal(new ReleaseResult(true, 2m), released.Result);
        var snapshot = BudgetMachine.GetState(released.State, Now.AddSeconds(3));
        Assert.Equal((2.5m, 0m, 7.5m), (snapshot.SpentUsd, snapshot.ReservedUsd, snapshot.RemainingUsd));
        Assert.False(BudgetMachine.Release(released.State, "r2", Now.AddSeconds(4)).Result.Released);
    }

    [Fact]
    public void Hard_limit_refuses_what_does_not_fit_and_names_the_scope()
    {
        var state = New(10m, Now);
        state = BudgetMachine.Reserve(state, "a", 6m, Now, Ttl).State;
        state = BudgetMachine.Reserve(state, "b", 4m, Now, Ttl).State;
        var refused = BudgetMachine.Reserve(state, "c", 0.01m, Now, Ttl);
        Assert.False(refused.Result.Admitted);
        Assert.Equal(BudgetRefusal.LimitReached, refused.Result.Refusal);
        Assert.Equal("team:payments", refused.State.Definition.Scope.ToString());
        Assert.Same(state.Reservations, refused.State.Reservations);
        var free = BudgetMachine.Release(state, "b", Now).State;
        Assert.True(BudgetMachine.Reserve(free, "c", 4m, Now, Ttl).Result.Admitted);
    }

    [Fact]
    public void Alert_only_mode_never_refuses_on_the_limit()
    {
        var state = BudgetMachine.Configure(null, Definition(1m) with { Mode = BudgetMode.AlertOnly }, Now).State;
        var outcome = BudgetMachine.Reserve(state, "a", 5m, Now, Ttl);
        Assert.True(outcome.Result.Admitted);
        var settled = BudgetMachine.Settle(outcome.State, "a", 5m, Now);
        Assert.Equal(3, settled.Alerts.Length);
    }

    [Fact]
    public void Each_threshold_alerts_once_per_period()
    {
        var state = New(100m, Now);
        var first = BudgetMachine.Settle(state, "a", 49.99m, Now);
        Assert.Empty(first.Alerts);
        var second = BudgetMachine.Settle(first.State, "b", 0.01m, Now);
        var alert = Assert.Single(second.Alerts);
        Assert.Equal((0.5m, 50m, 100m, BudgetScope.ForTeam("payments")), (alert.Threshold, alert.SpentUsd, alert.LimitUsd, alert.Scope));
        Assert.Equal((T("2026-05-01T00:00:00Z"), T("2026-06-01T00:00:00Z")), (alert.PeriodStart, alert.PeriodEnd));
        Assert.Equal($"team:payments|{T("2026-05-01T00:00:00Z").UtcTicks}|0.5", alert.Id);

        var third = BudgetMachine.Settle(second.State, "c", 10m, Now);
        Assert.Empty(third.Alerts);
        // One settle crossing two thresholds raises both, once.
        var fourth = BudgetMachine.Settle(third.State, "d", 45m, Now);
        Assert.Equal([0.8m, 1.0m], fourth.Alerts.Select(a => a.Threshold).ToArray());
        Assert.Empty(BudgetMachine.Settle(fourth.State, "e", 1m, Now).Alerts);
        Assert.Equal([0.5m, 0.8m, 1.0m], BudgetMachine.GetState(fourth.State, Now).ThresholdsRaised.ToArray());

        // Next month they alert again.
        var june = BudgetMachine.Settle(fourth.State, "f", 60m, T("2026-06-02T00:00:00Z"));
        Assert.True(june.PeriodRolled);
        Assert.Equal([0.5m], june.Alerts.Select(a => a.Threshold).ToArray());
        Assert.Equal(T("2026-06-01T00:00:00Z"), june.Alerts[0].PeriodStart);
    }

    [Fact]
    public void Reset_clears_spent_and_alerts_but_keeps_reservations()
    {
        var state = New(10m, Now);
        state = BudgetMachine.Settle(state, "a", 6m, Now).State;
        state = BudgetMachine.Reserve(state, "b", 3m, Now, Ttl).State;
        var reset = BudgetMachine.Reset(state, Now);
        Assert.Equal((0m, 3m, 7m), (reset.Result.SpentUsd, reset.Result.ReservedUsd, reset.Result.RemainingUsd));
        Assert.Empty(reset.Result.ThresholdsRaised);
        Assert.Single(BudgetMachine.Settle(reset.State, "c", 5m, Now).Alerts);
        Assert.Equal(SettleKind.Duplicate, BudgetMachine.Settle(reset.State, "a", 6m, Now).Result.Kind);
    }

    [Fact]
    public void A_settle_delivered_twice_counts_once()
    {
        var state = BudgetMachine.Reserve(New(10m, Now), "r", 2m, Now, Ttl).State;
        var once = BudgetMachine.Settle(state, "r", 1.25m, Now);
        var twice = BudgetMachine.Settle(once.State, "r", 1.25m, Now.AddSeconds(30));
        Assert.Equal(SettleKind.Duplicate, twice.Result.Kind);
        Assert.Equal(0m, twice.Result.CountedUsd);
        Assert.Equal(1.25m, twice.State.SpentUsd);
        Assert.False(BudgetMachine.Reserve(twice.State, "r", 1m, Now, Ttl).Result.Admitted);
        Assert.Equal(BudgetRefusal.AlreadySettled, BudgetMachine.Reserve(twice.State, "r", 1m, Now, Ttl).Result.Refusal);
    }

    [Fact]
    public void Settled_ids_are_forgotten_after_their_retention_and_memory_stays_bounded()
    {
        var state = New(1000m, Now) with { Definition = Definition(1000m) with { SettledRetention = TimeSpan.FromHours(1) } };
        for (var i = 0; i < 100; i++) state = BudgetMachine.Settle(state, $"r{i}", 1m, Now.AddMinutes(i)).State;
        // Only the ids settled less than an hour before the last operation are remembered.
        Assert.Equal(60, state.SettledRequests.Count);
        Assert.Equal(100m, state.SpentUsd);
    }

    [Fact]
    public void Reserving_the_same_id_twice_holds_once()
    {
        var state = BudgetMachine.Reserve(New(10m, Now), "r", 2m, Now, Ttl).State;
        var again = BudgetMachine.Reserve(state, "r", 2m, Now.AddSeconds(1), Ttl);
        Assert.True(again.Result.Admitted);
        Assert.Equal(2m, again.State.ReservedUsd);
        Assert.Equal(Now + Ttl, again.Result.ExpiresAt);
    }

    [Fact]
    public void Expired_reservations_are_released_and_a_late_settle_still_counts()
    {
        var state = New(10m, Now);
        state = BudgetMachine.Reserve(state, "crashed", 4m, Now, Ttl).State;
        state = BudgetMachine.Reserve(state, "slow", 3m, Now.AddMinutes(1), Ttl).State;
        var beforeExpiry = BudgetMachine.Expire(state, Now + Ttl - TimeSpan.FromTicks(1));
        Assert.Equal(new ExpireResult(0, 0, 0m), beforeExpiry.Result);

        var expired = BudgetMachine.Expire(state, Now + Ttl);
        Assert.Equal(new ExpireResult(1, 0, 4m), expired.Result);
        Assert.Equal(3m, expired.State.ReservedUsd);

        var later = BudgetMachine.Expire(expired.State, Now.AddMinutes(10));
        Assert.Equal(0m, later.State.ReservedUsd);
        var late = BudgetMachine.Settle(later.State, "slow", 2m, Now.AddMinutes(11));
        Assert.Equal(SettleKind.SettledWithoutReservation, late.Result.Kind);
        Assert.Equal(2m, late.State.SpentUsd);
        Assert.Equal(SettleKind.Duplicate, BudgetMachine.Settle(late.State, "slow", 2m, Now.AddMinutes(12)).Result.Kind);
    }

    [Fact]
    public void Any_operation_expires_stale_reservations_first()
    {
        var state = BudgetMachine.Reserve(New(10m, Now), "stale", 10m, Now, Ttl).State;
        Assert.False(BudgetMachine.Reserve(state, "new", 1m, Now.AddMinutes(4), Ttl).Result.Admitted);
        Assert.True(BudgetMachine.Reserve(state, "new", 1m, Now.AddMinutes(5), Ttl).Result.Admitted);
    }

    [Fact]
    public void Stop_refuses_everything_and_revokes_leases_until_resumed()
    {
        var state = New(100m, Now);
        var lease = BudgetMachine.Lease(state, "i1", 10m, Now, TimeSpan.FromMinutes(5));
        Assert.True(lease.Result.Granted);
        state = BudgetMachine.Reserve(lease.State, "r", 1m, Now, Ttl).State;

        var stopped = BudgetMachine.Stop(state, "runaway agent", Now);
        Assert.True(stopped.Result.Stopped);
        Assert.Equal("runaway agent", stopped.Result.StopReason);
        Assert.Equal(0, stopped.Result.ActiveLeases);
        Assert.Equal(BudgetRefusal.Stopped, BudgetMachine.Reserve(stopped.State, "x", 0.01m, Now, Ttl).Result.Refusal);
        Assert.Equal(BudgetRefusal.Stopped, BudgetMachine.Lease(stopped.State, "i1", 1m, Now, TimeSpan.FromMinutes(5)).Result.Refusal);

        // Money already spent still counts, under the revoked lease too.
        var report = BudgetMachine.SettleLease(stopped.State, "i1", lease.Result.Grant!.LeaseId, 2m, ["q1"], Now.AddSeconds(5));
        Assert.Equal(new LeaseSettleResult(2m, false, 0m, true), report.Result);
        var settle = BudgetMachine.Settle(report.State, "r", 1m, Now.AddSeconds(6));
        Assert.Equal(3m, settle.State.SpentUsd);

        var resumed = BudgetMachine.Resume(settle.State, Now.AddSeconds(7));
        Assert.False(resumed.Result.Stopped);
        Assert.True(BudgetMachine.Reserve(resumed.State, "x", 1m, Now.AddSeconds(8), Ttl).Result.Admitted);
    }

    [Fact]
    public void Lowering_the_limit_keeps_spent_and_raises_the_thresholds_now_crossed()
    {
        var state = BudgetMachine.Settle(New(100m, Now), "a", 40m, Now).State;
        var lowered = BudgetMachine.Reconfigure(state, Definition(50m), Now.AddMinutes(1));
        Assert.Equal([0.5m, 0.8m], lowered.Alerts.Select(a => a.Threshold).ToArray());
        Assert.Equal((40m, 10m), (lowered.Result.SpentUsd, lowered.Result.RemainingUsd));
        var raised = BudgetMachine.Reconfigure(lowered.State, Definition(200m), Now.AddMinutes(2));
        Assert.Empty(raised.Alerts);
        Assert.Equal([0.5m, 0.8m], raised.Result.ThresholdsRaised.ToArray());
    }

    [Fact]
    public void Changing_the_period_moves_the_window_and_carries_spent()
    {
        var state = BudgetMachine.Settle(New(100m, Now), "a", 7m, Now).State;
        var daily = BudgetMachine.Reconfigure(state, Definition(100m, BudgetPeriodKind.Daily, "Europe/Berlin"), Now);
        Assert.Equal((T("2026-05-09T22:00:00Z"), T("2026-05-10T22:00:00Z")), (daily.Result.PeriodStart, daily.Result.PeriodEnd));
        Assert.Equal(7m, daily.Result.SpentUsd);
    }

    [Fact]
    public void An_uncapped_request_overruns_only_as_the_single_tail()
    {
        var state = New(10m, Now);
        state = BudgetMachine.Reserve(state, "capped", 7m, Now, Ttl).State;
        // Estimate 1, maximum 5: the maximum does not fit (3 left), the estimate does: admitted as the tail.
        var tail = BudgetMachine.Reserve(state, "tail", 1m, Now, Ttl, maxCostUsd: 5m);
        Assert.True(tail.Result.Admitted);
        Assert.True(tail.Result.Tail);
        // A second uncapped request cannot also be a tail.
        var second = BudgetMachine.Reserve(tail.State, "tail2", 1m, Now, Ttl, maxCostUsd: 5m);
        Assert.Equal(BudgetRefusal.LimitReached, second.Result.Refusal);
        // ...but a capped one fits what the tail's estimate leaves.
        Assert.True(BudgetMachine.Reserve(tail.State, "small", 2m, Now, Ttl).Result.Admitted);
        // An uncapped request whose maximum fits is admitted normally, counted at its maximum.
        var roomy = BudgetMachine.Reserve(New(10m, Now), "u", 1m, Now, Ttl, maxCostUsd: 4m);
        Assert.False(roomy.Result.Tail);
        Assert.Equal(4m, roomy.State.ExposureUsd);
        Assert.Equal(1m, roomy.State.ReservedUsd);
    }

    [Fact]
    public void Scopes_print_and_parse()
    {
        foreach (var scope in new[] { BudgetScope.Global, BudgetScope.ForKey("key_1"), BudgetScope.ForUser("u@x"), BudgetScope.ForTeam("t"), BudgetScope.ForTag("env", "prod") })
        {
            Assert.Equal(scope, BudgetScope.Parse(scope.ToString()));
        }

        Assert.Equal("tag:env=prod", BudgetScope.ForTag("env", "prod").ToString());
        Assert.Throws<FormatException>(() => BudgetScope.Parse("org:x"));
        Assert.Throws<FormatException>(() => BudgetScope.Parse("tag:noequals"));
    }
}
