using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>How a local admission against a lease went.</summary>
public enum LedgerAdmissionKind
{
    /// <summary>Admitted at its maximum cost.</summary>
    Admitted,
    /// <summary>Admitted at its estimate as this ledger's single tail request (it may overrun, see <see cref="BudgetMachine"/>).</summary>
    AdmittedAsTail,
    /// <summary>The request id is already in flight here (admitted earlier).</summary>
    AlreadyAdmitted,
    /// <summary>The request id was already settled here.</summary>
    AlreadySettled,
    /// <summary>The ledger was retired (lease revoked, returned or being replaced).</summary>
    Retired,
    /// <summary>Too close to the lease's expiry to finish before it: get a new lease or reserve at the budget.</summary>
    AdmissionWindowClosed,
    /// <summary>The lease has too little left: get a new lease or reserve at the budget.</summary>
    InsufficientLease,
}

public sealed record LedgerAdmission(LedgerAdmissionKind Kind)
{
    public bool Admitted => Kind is LedgerAdmissionKind.Admitted or LedgerAdmissionKind.AdmittedAsTail or LedgerAdmissionKind.AlreadyAdmitted;
}

/// <summary>
/// What an instance sends to the budget (<see cref="BudgetMachine.SettleLease"/> or <see cref="BudgetMachine.ReturnLease"/>):
/// the lease's cumulative actual spend and the request ids settled since the previous report.
/// </summary>
public sealed record BudgetLeaseReport(BudgetScope Scope, string InstanceId, string LeaseId, decimal CumulativeSpentUsd, ImmutableArray<string> SettledRequestIds);

public sealed record LedgerSnapshot(decimal LeaseUsd, decimal SpentUsd, decimal ReservedUsd, decimal ExposureUsd, decimal FreeUsd, int InFlight, bool TailInFlight, bool Retired);

/// <summary>
/// One instance's local view of one budget lease: admits requests against the lease without a round trip to the
/// budget, and accumulates their actual cost for batched reports. Thread-safe; the clock is passed in.
/// </summary>
/// <remarks>
/// The admission rule is the budget's own (see <see cref="BudgetMachine"/>): a request is admitted when its maximum
/// cost fits what is left of the lease (spent + exposure of requests in flight), or, for a request without
/// <c>max_tokens</c>, when its estimate fits and no other tail request is in flight here. Hence the lease's actual spend
/// stays ≤ lease amount + one request's overrun (≤ <see cref="BudgetLeaseGrant.MaxRequestCostUsd"/>). Requests are
/// admitted only until <see cref="BudgetLeaseGrant.AdmitUntil"/>, so they settle before the budget expires the lease.
/// A request the ledger refuses is not refused by the budget: the caller asks for a new lease or reserves the request
/// at the budget (exact mode).
/// </remarks>
public sealed class BudgetLeaseLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Hold> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private readonly List<string> _unreported = [];
    private decimal _spent;
    private decimal _reserved;
    private decimal _exposure;
    private bool _tailInFlight;
    private bool _retired;

    public BudgetLeaseLedger(BudgetLeaseGrant grant, bool provisional = false)
    {
        ArgumentNullException.ThrowIfNull(grant);
        _grant = grant;
        _provisional = provisional;
    }

    private BudgetLeaseGrant _grant;
    private bool _provisional;

    public BudgetLeaseGrant Grant
    {
        get
        {
            lock (_gate) return _grant;
        }
    }

    /// <summary>Whether the lease is only asked for yet (admitting against it before the budget's answer; see <see cref="BudgetGate"/>).</summary>
    public bool IsProvisional
    {
        get
        {
            lock (_gate) return _provisional;
        }
    }

    /// <summary>The budget granted the lease this ledger admitted against provisionally: its amount (at least as much) and expiry apply from now.</summary>
    public void Confirm(BudgetLeaseGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate)
        {
            if (grant.LeaseId != _grant.LeaseId) throw new ArgumentException("the grant is for another lease", nameof(grant));
            _grant = grant;
            _provisional = false;
        }
    }

    /// <summary>Admits a request locally. <paramref name="maxCostUsd"/> as in <see cref="BudgetMachine.Reserve"/>.</summary>
    public LedgerAdmission TryAdmit(string requestId, decimal estimateUsd, decimal? maxCostUsd, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(estimateUsd);
        if (maxCostUsd is { } m && m < estimateUsd) throw new ArgumentOutOfRangeException(nameof(maxCostUsd), "the maximum cost must not be below the estimate");
        var max = maxCostUsd ?? estimateUsd;
        lock (_gate)
        {
            if (_inFlight.ContainsKey(requestId)) return new(LedgerAdmissionKind.AlreadyAdmitted);
            if (_settled.Contains(requestId)) return new(LedgerAdmissionKind.AlreadySettled);
            if (_retired) return new(LedgerAdmissionKind.Retired);
            if (now >= _grant.AdmitUntil) return new(LedgerAdmissionKind.AdmissionWindowClosed);
            var free = _grant.AmountUsd - _spent - _exposure;
            Hold hold;
            if (free >= max) hold = new Hold(estimateUsd, max, false);
            else if (max > estimateUsd && !_tailInFlight && free >= estimateUsd) hold = new Hold(estimateUsd, estimateUsd, true);
            else return new(LedgerAdmissionKind.InsufficientLease);

            _inFlight.Add(requestId, hold);
            _reserved += hold.Estimate;
            _exposure += hold.Exposure;
            _tailInFlight |= hold.Tail;
            return new(hold.Tail ? LedgerAdmissionKind.AdmittedAsTail : LedgerAdmissionKind.Admitted);
        }
    }

    /// <summary>
    /// Records a request's actual cost. Counted once per request id; an id not in flight here (released earlier) still
    /// counts, as at the budget.
    /// </summary>
    public SettleKind Settle(string requestId, decimal actualUsd)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        lock (_gate)
        {
            if (!_settled.Add(requestId)) return SettleKind.Duplicate;
            var kind = Drop(requestId) ? SettleKind.Settled : SettleKind.SettledWithoutReservation;
            _spent += actualUsd;
            _unreported.Add(requestId);
            return kind;
        }
    }

    /// <summary>Drops an in-flight request without cost.</summary>
    public bool Release(string requestId)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        lock (_gate) return Drop(requestId);
    }

    /// <summary>Stops all further admissions (the lease was revoked, returned or is being replaced); settlements still count.</summary>
    public void Retire()
    {
        lock (_gate) _retired = true;
    }

    /// <summary>The report to send to the budget; the request ids in it are not repeated in the next report
    /// (the cumulative spend is, which makes a lost or repeated report harmless).</summary>
    public BudgetLeaseReport TakeReport()
    {
        lock (_gate)
        {
            var report = new BudgetLeaseReport(_grant.Scope, _grant.InstanceId, _grant.LeaseId, _spent, [.. _unreported]);
            _unreported.Clear();
            return report;
        }
    }

    /// <summary>Whether the instance should ask for a new lease: little is left, or admissions close soon.</summary>
    public bool ShouldRenew(DateTimeOffset now, decimal lowWaterUsd, TimeSpan renewBefore)
    {
        lock (_gate)
        {
            return _retired || now >= _grant.AdmitUntil - renewBefore || _grant.AmountUsd - _spent - _exposure < lowWaterUsd;
        }
    }

    public LedgerSnapshot GetSnapshot()
    {
        lock (_gate)
        {
            return new LedgerSnapshot(_grant.AmountUsd, _spent, _reserved, _exposure, _grant.AmountUsd - _spent - _exposure, _inFlight.Count, _tailInFlight, _retired);
        }
    }

    private bool Drop(string requestId)
    {
        if (!_inFlight.Remove(requestId, out var hold)) return false;
        _reserved -= hold.Estimate;
        _exposure -= hold.Exposure;
        if (hold.Tail) _tailInFlight = false;
        return true;
    }

    private readonly record struct Hold(decimal Estimate, decimal Exposure, bool Tail);
}
