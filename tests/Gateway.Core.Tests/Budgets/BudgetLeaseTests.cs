using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

public sealed class BudgetLeaseTests
{
    private static readonly DateTimeOffset Now = T("2026-05-10T12:00:00Z");
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromMinutes(5);

    [Fact]
    public void A_lease_is_a_share_of_the_headroom_counted_as_reserved()
    {
        var state = New(100m, Now);
        var lease = BudgetMachine.Lease(state, "i1", 40m, Now, LeaseTtl);
        Assert.True(lease.Result.Granted);
        var grant = lease.Result.Grant!;
        Assert.Equal(("i1/1", 25m), (grant.LeaseId, grant.AmountUsd));
        Assert.Equal((Now + LeaseTtl, Now + LeaseTtl - TimeSpan.FromMinutes(2)), (grant.ExpiresAt, grant.AdmitUntil));
        Assert.Equal(25m, lease.State.ReservedUsd);
        Assert.Equal(75m, lease.Result.RemainingUsd);

        var small = BudgetMachine.Lease(lease.State, "i2", 5m, Now, LeaseTtl);
        Assert.Equal(5m, small.Result.Grant!.AmountUsd);
        Assert.Equal("i2/2", small.Result.Grant.LeaseId);
    }

    [Fact]
    public void Near_the_limit_no_lease_is_granted_and_requests_reserve_one_at_a_time()
    {
        // Exact mode below max(10% of 100, 5 × $1) = $10 of headroom.
        var state = BudgetMachine.Settle(New(100m, Now), "a", 89m, Now).State;
        var belowTen = BudgetMachine.Lease(BudgetMachine.Settle(New(100m, Now), "a", 90.5m, Now).State, "i1", 10m, Now, LeaseTtl);
        Assert.False(belowTen.Result.Granted);
        Assert.True(BudgetMachine.Lease(BudgetMachine.Settle(New(100m, Now), "a", 90m, Now).State, "i1", 10m, Now, LeaseTtl).Result.Granted);
        var atEleven = BudgetMachine.Lease(state, "i1", 10m, Now, LeaseTtl);
        Assert.True(atEleven.Result.Granted);
        Assert.Equal(2.75m, atEleven.Result.Grant!.AmountUsd);

        var exact = BudgetMachine.Lease(BudgetMachine.Settle(state, "b", 2m, Now).State, "i1", 10m, Now, LeaseTtl);
        Assert.Equal(BudgetRefusal.ExactModeRequired, exact.Result.Refusal);
        Assert.Null(exact.Result.Grant);
        Assert.False(BudgetMachine.GetState(exact.State, Now).LeasesAvailable);
        Assert.True(BudgetMachine.Reserve(exact.State, "c", 9m, Now, Ttl).Result.Admitted);
    }

    [Fact]
    public void The_request_multiple_also_forces_exact_mode()
    {
        var policy = new BudgetLeasePolicy { MaxRequestCostUsd = 2m, ExactModeRequestMultiple = 10, ExactModeFraction = 0m, MaxRequestDuration = TimeSpan.FromMinutes(1) };
        var state = New(1000m, Now, leases: policy);
        state = BudgetMachine.Settle(state, "a", 981m, Now).State;
        Assert.Equal(BudgetRefusal.ExactModeRequired, BudgetMachine.Lease(state, "i", 1m, Now, LeaseTtl).Result.Refusal);
        Assert.True(BudgetMachine.Lease(BudgetMachine.Reset(state, Now).State, "i", 1m, Now, LeaseTtl).Result.Granted);
        var disabled = New(1000m, Now, leases: policy with { Enabled = false });
        Assert.Equal(BudgetRefusal.ExactModeRequired, BudgetMachine.Lease(disabled, "i", 1m, Now, LeaseTtl).Result.Refusal);
    }

    [Fact]
    public void A_lease_must_outlive_the_longest_request()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BudgetMachine.Lease(New(100m, Now), "i", 1m, Now, TimeSpan.FromMinutes(2)));
    }

    [Fact]
    public void Lease_reports_are_cumulative_so_repeats_and_reordering_count_once()
    {
        var lease = BudgetMachine.Lease(New(100m, Now), "i1", 20m, Now, LeaseTtl);
        var id = lease.Result.Grant!.LeaseId;
        var first = BudgetMachine.SettleLease(lease.State, "i1", id, 4m, ["a", "b"], Now.AddSeconds(10));
        Assert.Equal(new LeaseSettleResult(4m, true, 16m, false), first.Result);
        Assert.Equal((4m, 16m), (first.State.SpentUsd, first.State.ReservedUsd));
        var repeated = BudgetMachine.SettleLease(first.State, "i1", id, 4m, ["a", "b"], Now.AddSeconds(11));
        Assert.Equal(0m, repeated.Result.CountedUsd);
        var second = BudgetMachine.SettleLease(repeated.State, "i1", id, 7m, ["c"], Now.AddSeconds(20));
        Assert.Equal(3m, second.Result.CountedUsd);
        var stale = BudgetMachine.SettleLease(second.State, "i1", id, 5m, null, Now.AddSeconds(21));
        Assert.Equal((0m, 7m), (stale.Result.CountedUsd, stale.State.SpentUsd));
        // Requests reported under the lease are deduplicated against direct settles.
        Assert.Equal(SettleKind.Duplicate, BudgetMachine.Settle(stale.State, "c", 1m, Now.AddSeconds(22)).Result.Kind);

        var returned = BudgetMachine.ReturnLease(stale.State, "i1", id, 8m, null, Now.AddSeconds(30));
        Assert.Equal(new LeaseSettleResult(1m, false, 0m, false), returned.Result);
        Assert.Equal((8m, 0m, 92m), (returned.State.SpentUsd, returned.State.ReservedUsd, BudgetMachine.GetState(returned.State, Now.AddSeconds(30)).RemainingUsd));
        Assert.Equal(0m, BudgetMachine.ReturnLease(returned.State, "i1", id, 8m, null, Now.AddSeconds(31)).Result.CountedUsd);
    }

    [Fact]
    public void An_expired_lease_frees_its_headroom_and_a_late_report_still_counts()
    {
        var lease = BudgetMachine.Lease(New(100m, Now), "i1", 20m, Now, LeaseTtl);
        var id = lease.Result.Grant!.LeaseId;
        var state = BudgetMachine.SettleLease(lease.State, "i1", id, 5m, null, Now.AddMinutes(1)).State;
        var expired = BudgetMachine.Expire(state, Now + LeaseTtl);
        Assert.Equal(new ExpireResult(0, 1, 15m), expired.Result);
        var late = BudgetMachine.SettleLease(expired.State, "i1", id, 6m, null, Now.AddMinutes(6));
        Assert.Equal(new LeaseSettleResult(1m, false, 0m, false), late.Result);
        Assert.Equal(6m, late.State.SpentUsd);
        // Forgotten after the retention: a report for an unknown lease counts in full.
        var unknown = BudgetMachine.SettleLease(late.State, "i9", "i9/77", 2m, null, Now.AddDays(2));
        Assert.Equal(2m, unknown.Result.CountedUsd);
    }

    [Fact]
    public void A_lease_report_from_another_instance_is_rejected()
    {
        var lease = BudgetMachine.Lease(New(100m, Now), "i1", 20m, Now, LeaseTtl);
        Assert.Throws<ArgumentException>(() => BudgetMachine.SettleLease(lease.State, "i2", lease.Result.Grant!.LeaseId, 1m, null, Now));
    }

    [Fact]
    public void The_ledger_admits_locally_until_the_lease_is_used_up()
    {
        var ledger = new BudgetLeaseLedger(new BudgetLeaseGrant(BudgetScope.Global, "i1", "i1/1", 10m, Now, Now.AddMinutes(5), Now.AddMinutes(3), 2m));
        Assert.Equal(LedgerAdmissionKind.Admitted, ledger.TryAdmit("a", 4m, null, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.AlreadyAdmitted, ledger.TryAdmit("a", 4m, null, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.Admitted, ledger.TryAdmit("b", 4m, null, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.InsufficientLease, ledger.TryAdmit("c", 3m, null, Now).Kind);
        Assert.Equal(SettleKind.Settled, ledger.Settle("a", 1m));
        Assert.Equal(SettleKind.Duplicate, ledger.Settle("a", 1m));
        Assert.Equal(LedgerAdmissionKind.AlreadySettled, ledger.TryAdmit("a", 1m, null, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.Admitted, ledger.TryAdmit("c", 3m, null, Now).Kind);
        Assert.True(ledger.Release("c"));
        Assert.Equal(new LedgerSnapshot(10m, 1m, 4m, 4m, 5m, 1, false, false), ledger.GetSnapshot());

        var report = ledger.TakeReport();
        Assert.Equal((1m, "i1/1"), (report.CumulativeSpentUsd, report.LeaseId));
        Assert.Equal(["a"], report.SettledRequestIds.ToArray());
        Assert.Empty(ledger.TakeReport().SettledRequestIds);

        Assert.Equal(LedgerAdmissionKind.AdmissionWindowClosed, ledger.TryAdmit("d", 0.1m, null, Now.AddMinutes(3)).Kind);
        Assert.True(ledger.ShouldRenew(Now.AddMinutes(2.5), 0m, TimeSpan.FromMinutes(1)));
        Assert.False(ledger.ShouldRenew(Now, 1m, TimeSpan.FromMinutes(1)));
        ledger.Retire();
        Assert.Equal(LedgerAdmissionKind.Retired, ledger.TryAdmit("d", 0.1m, null, Now).Kind);
        Assert.Equal(SettleKind.Settled, ledger.Settle("b", 4m));
        Assert.Equal(5m, ledger.TakeReport().CumulativeSpentUsd);
    }

    [Fact]
    public void The_ledger_allows_one_tail_request_at_a_time()
    {
        var ledger = new BudgetLeaseLedger(new BudgetLeaseGrant(BudgetScope.Global, "i1", "i1/1", 10m, Now, Now.AddMinutes(5), Now.AddMinutes(3), 5m));
        Assert.Equal(LedgerAdmissionKind.Admitted, ledger.TryAdmit("a", 1m, 5m, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.Admitted, ledger.TryAdmit("b", 1m, 5m, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.InsufficientLease, ledger.TryAdmit("c", 1m, 5m, Now).Kind);
        ledger.Settle("a", 1m);
        Assert.Equal(LedgerAdmissionKind.AdmittedAsTail, ledger.TryAdmit("c", 1m, 5m, Now).Kind);
        Assert.Equal(LedgerAdmissionKind.InsufficientLease, ledger.TryAdmit("d", 1m, 5m, Now).Kind);
        ledger.Settle("c", 5m);
        Assert.Equal(LedgerAdmissionKind.InsufficientLease, ledger.TryAdmit("d", 0m, 1m, Now).Kind);
        Assert.Equal(11m, ledger.GetSnapshot().SpentUsd + ledger.GetSnapshot().ExposureUsd);
    }
}
