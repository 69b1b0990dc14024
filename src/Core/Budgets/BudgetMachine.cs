using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>
/// The budget state machine: every operation takes a <see cref="BudgetState"/>, its arguments and the current time and
/// returns a new state with a result (<see cref="BudgetOutcome{T}"/>). No I/O, no clock of its own; the durable entity
/// that holds a budget only forwards to these functions, one operation at a time.
/// </summary>
/// <remarks>
/// <para><b>Accounting.</b> <c>Spent</c> is the actual cost settled in the current period. <c>Reserved</c> is the sum of
/// individual reservations plus the part of each lease not yet reported as spent. Admission control counts each
/// reservation at its <i>exposure</i>: the request's maximum cost. A request without <c>max_tokens</c> has an estimate
/// below its maximum; it is admitted at its maximum when that fits, otherwise (if its estimate fits) as the single
/// <i>tail</i> request, counted at its estimate. At most one tail reservation is outstanding per budget.</para>
/// <para><b>Strict mode invariant.</b> No operation makes spent + exposure exceed the limit; since reserved ≤ exposure,
/// spent + reserved ≤ limit holds at all times as long as settled costs do not exceed what was reserved for them.
/// Lowering the limit, a tail request's overrun, or a settle that arrives after its reservation expired can leave the
/// budget above its limit; it then admits nothing until settlements bring it back.</para>
/// <para><b>Precision.</b> Admitted spend ≤ limit + one request's maximum cost (<see cref="BudgetLeasePolicy.MaxRequestCostUsd"/>)
/// per deciding party: each instance's <see cref="BudgetLeaseLedger"/> (one tail per ledger) plus this budget itself in
/// exact mode (one tail per budget). Requests with <c>max_tokens</c> never overrun: for them spent ≤ limit exactly.
/// See PRECISION.md next to this file.</para>
/// <para><b>Period rollover</b> happens on any operation with now ≥ period end: spent returns to 0 and raised thresholds
/// are cleared. Reservations and leases are <b>carried</b> into the new period (they are requests in flight; their cost
/// is counted when it settles, in the period in which it settles). Settled request ids are kept until their retention
/// ends, so a settle repeated across the boundary still counts once.</para>
/// <para><b>Idempotency.</b> A settle counts once per request id while the id is remembered
/// (<see cref="BudgetDefinition.SettledRetention"/>); a settle with no reservation (expired, released) still counts. Lease
/// reports carry the lease's cumulative spend, so a repeated or reordered report adds nothing.</para>
/// </remarks>
public static class BudgetMachine
{
    /// <summary>Creates the budget (when <paramref name="state"/> is null) or changes its definition.</summary>
    /// <remarks>
    /// Reconfiguring keeps spent, reservations and leases. The period is recomputed for <paramref name="now"/> under
    /// the new period kind and time zone, and spent is carried into it (a configuration change never hands back
    /// money already spent). Thresholds already raised stay raised if they are still configured; a lower limit can
    /// raise alerts at once.
    /// </remarks>
    public static BudgetOutcome<BudgetSnapshot> Configure(BudgetState? state, BudgetDefinition definition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        BudgetState next;
        var rolled = false;
        if (state is null)
        {
            var (start, end) = Window(definition, now, now);
            next = new BudgetState { Definition = definition, CreatedAt = now.ToUniversalTime(), PeriodStart = start, PeriodEnd = end };
        }
        else
        {
            (next, rolled) = Maintain(state, now);
            var (start, end) = Window(definition, now, next.CreatedAt);
            next = next with
            {
                Definition = definition,
                PeriodStart = start,
                PeriodEnd = end,
                ThresholdsRaised = [.. next.ThresholdsRaised.Where(t => definition.AlertThresholds.Contains(t))],
            };
        }

        return Finish(next, now, rolled, Snapshot);
    }

    /// <summary>Re-applies a definition to an existing budget (same as <see cref="Configure"/>).</summary>
    public static BudgetOutcome<BudgetSnapshot> Reconfigure(BudgetState state, BudgetDefinition definition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Configure(state, definition, now);
    }

    /// <summary>
    /// Reserves <paramref name="amountUsd"/> for one request until <paramref name="now"/> + <paramref name="ttl"/>.
    /// <paramref name="maxCostUsd"/> is the request's maximum cost when the amount is only an estimate (no
    /// <c>max_tokens</c>); null means the amount is the maximum. Reserving an id that is already reserved returns the
    /// existing reservation.
    /// </summary>
    public static BudgetOutcome<ReserveResult> Reserve(BudgetState state, string requestId, decimal amountUsd, DateTimeOffset now, TimeSpan ttl, decimal? maxCostUsd = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(amountUsd);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (maxCostUsd is { } m && m < amountUsd) throw new ArgumentOutOfRangeException(nameof(maxCostUsd), "the maximum cost must not be below the reserved amount");

        var (s, rolled) = Maintain(state, now);
        if (s.SettledRequests.ContainsKey(requestId)) return Finish(s, now, rolled, x => ReserveResult.Refused(BudgetRefusal.AlreadySettled, Remaining(x)));
        if (s.Reservations.TryGetValue(requestId, out var existing))
        {
            return Finish(s, now, rolled, x => new ReserveResult(true, BudgetRefusal.None, existing.AmountUsd, existing.Tail, existing.ExpiresAt, Remaining(x)));
        }

        if (s.Stopped) return Finish(s, now, rolled, x => ReserveResult.Refused(BudgetRefusal.Stopped, Remaining(x)));

        var max = maxCostUsd ?? amountUsd;
        BudgetReservation reservation;
        var expires = now.ToUniversalTime() + ttl;
        if (s.Definition.Mode == BudgetMode.AlertOnly || s.HeadroomUsd >= max)
        {
            reservation = new BudgetReservation(amountUsd, max, false, expires);
        }
        else if (max > amountUsd && !s.TailOutstanding && s.HeadroomUsd >= amountUsd)
        {
            reservation = new BudgetReservation(amountUsd, amountUsd, true, expires);
        }
        else
        {
            return Finish(s, now, rolled, x => ReserveResult.Refused(BudgetRefusal.LimitReached, Remaining(x)));
        }

        s = s with { Reservations = s.Reservations.SetItem(requestId, reservation) };
        return Finish(s, now, rolled, x => new ReserveResult(true, BudgetRefusal.None, amountUsd, reservation.Tail, expires, Remaining(x)));
    }

    /// <summary>
    /// Counts a request's actual cost and drops its reservation. Idempotent per request id while the id is remembered;
    /// a request whose reservation expired or was released still counts.
    /// </summary>
    public static BudgetOutcome<SettleResult> Settle(BudgetState state, string requestId, decimal actualUsd, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);

        var (s, rolled) = Maintain(state, now);
        if (s.SettledRequests.ContainsKey(requestId)) return Finish(s, now, rolled, x => new SettleResult(SettleKind.Duplicate, 0m, x.SpentUsd));
        var kind = s.Reservations.ContainsKey(requestId) ? SettleKind.Settled : SettleKind.SettledWithoutReservation;
        s = s with
        {
            Reservations = s.Reservations.Remove(requestId),
            SpentUsd = s.SpentUsd + actualUsd,
            SettledRequests = s.SettledRequests.SetItem(requestId, now.ToUniversalTime() + s.Definition.SettledRetention),
        };
        return Finish(s, now, rolled, x => new SettleResult(kind, actualUsd, x.SpentUsd));
    }

    /// <summary>Drops a reservation without cost (the request never reached a provider). Unknown ids are ignored.</summary>
    public static BudgetOutcome<ReleaseResult> Release(BudgetState state, string requestId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var (s, rolled) = Maintain(state, now);
        if (!s.Reservations.TryGetValue(requestId, out var reservation)) return Finish(s, now, rolled, _ => new ReleaseResult(false, 0m));
        s = s with { Reservations = s.Reservations.Remove(requestId) };
        return Finish(s, now, rolled, _ => new ReleaseResult(true, reservation.AmountUsd));
    }

    /// <summary>
    /// Grants <paramref name="instanceId"/> a block of headroom of at most <paramref name="wantedUsd"/>, counted as
    /// reserved until reported spent, returned or expired. No lease is granted while headroom is below
    /// max(limit × <see cref="BudgetLeasePolicy.ExactModeFraction"/>, <see cref="BudgetLeasePolicy.ExactModeRequestMultiple"/>
    /// × <see cref="BudgetLeasePolicy.MaxRequestCostUsd"/>): the instance must then <see cref="Reserve"/> each request, so
    /// near the limit requests are decided one at a time. A lease is at most
    /// <see cref="BudgetLeasePolicy.MaxLeaseFraction"/> of the headroom, so instances share what is left.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The ttl does not exceed <see cref="BudgetLeasePolicy.MaxRequestDuration"/>.</exception>
    /// <param name="committedUsd">
    /// What the instance has already admitted against this lease before asking (a fresh instance's provisional lease,
    /// see <see cref="BudgetGate"/>): the grant is at least this much even when the budget would grant no lease (exact
    /// mode, a stop), because those requests are already running; their cost is counted when reported, like any lease's.
    /// </param>
    public static BudgetOutcome<LeaseResult> Lease(BudgetState state, string instanceId, decimal wantedUsd, DateTimeOffset now, TimeSpan ttl, string? leaseId = null,
        decimal committedUsd = 0m)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(wantedUsd);
        var policy = state.Definition.Leases;
        if (ttl <= policy.MaxRequestDuration) throw new ArgumentOutOfRangeException(nameof(ttl), "a lease must outlive the longest request");

        var (s, rolled) = Maintain(state, now);
        if (leaseId is not null && s.Leases.TryGetValue(leaseId, out var existing))
        {
            // asked again (a retried signal): the same grant
            if (existing.InstanceId != instanceId) throw new ArgumentException($"lease {leaseId} belongs to another instance", nameof(instanceId));
            var again = new BudgetLeaseGrant(s.Definition.Scope, instanceId, leaseId, existing.AmountUsd, existing.GrantedAt, existing.ExpiresAt,
                existing.ExpiresAt - policy.MaxRequestDuration, policy.MaxRequestCostUsd);
            return Finish(s, now, rolled, x => new LeaseResult(true, BudgetRefusal.None, again, Remaining(x)));
        }

        // a lease its instance gave up on (returned before it was granted) is never granted
        if (leaseId is not null && s.ClosedLeases.ContainsKey(leaseId)) return Finish(s, now, rolled, x => new LeaseResult(false, BudgetRefusal.TooLate, null, Remaining(x)));
        ArgumentOutOfRangeException.ThrowIfNegative(committedUsd);
        if (s.Stopped && committedUsd <= 0m) return Finish(s, now, rolled, x => new LeaseResult(false, BudgetRefusal.Stopped, null, Remaining(x)));
        var amount = Math.Max(s.Stopped ? 0m : LeaseAmount(s, wantedUsd), committedUsd);
        if (amount <= 0m) return Finish(s, now, rolled, x => new LeaseResult(false, BudgetRefusal.ExactModeRequired, null, Remaining(x)));

        var sequence = s.LeaseSequence + 1;
        var at = now.ToUniversalTime();
        var grant = new BudgetLeaseGrant(s.Definition.Scope, instanceId, leaseId ?? $"{instanceId}/{sequence}", amount, at, at + ttl, at + ttl - policy.MaxRequestDuration, policy.MaxRequestCostUsd);
        s = s with
        {
            LeaseSequence = sequence,
            Leases = s.Leases.SetItem(grant.LeaseId, new BudgetLease(instanceId, amount, 0m, at, grant.ExpiresAt)),
        };
        return Finish(s, now, rolled, x => new LeaseResult(true, BudgetRefusal.None, grant, Remaining(x)));
    }

    /// <summary>
    /// Records what an instance has spent under a lease: <paramref name="cumulativeSpentUsd"/> is the lease's total
    /// actual spend so far (so a repeated or out-of-order report adds nothing). A report for a lease that has expired
    /// or been returned still counts what it adds; one for a lease no longer remembered counts in full.
    /// <paramref name="settledRequestIds"/> are remembered as settled so a direct <see cref="Settle"/> of the same
    /// request does not count it again.
    /// </summary>
    public static BudgetOutcome<LeaseSettleResult> SettleLease(
        BudgetState state, string instanceId, string leaseId, decimal cumulativeSpentUsd, IEnumerable<string>? settledRequestIds, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        s = ApplyLeaseReport(s, instanceId, leaseId, cumulativeSpentUsd, settledRequestIds, now, out var counted);
        var active = s.Leases.TryGetValue(leaseId, out var lease);
        return Finish(s, now, rolled, x => new LeaseSettleResult(counted, active, active ? lease!.OutstandingUsd : 0m, x.Stopped));
    }

    /// <summary>
    /// An instance's report on its reservations (exact mode), kept like a lease that holds nothing: <paramref name="ledgerId"/>
    /// names the instance's running total, <paramref name="cumulativeSpentUsd"/> is everything its settled reservations
    /// cost so far (so a repeated or reordered report adds nothing), and <paramref name="dropRequestIds"/> are the
    /// reservations it settled or released since (dropping one twice is harmless). The budget keeps one entry per
    /// ledger, not one per request, so exact mode under heavy traffic does not grow its state.
    /// </summary>
    public static BudgetOutcome<LeaseSettleResult> SettleReservations(
        BudgetState state, string instanceId, string ledgerId, decimal cumulativeSpentUsd, IEnumerable<string>? dropRequestIds, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        if (s.Leases.ContainsKey(ledgerId)) throw new ArgumentException($"{ledgerId} is a lease, not a reservation ledger", nameof(ledgerId));
        s = ApplyLeaseReport(s, instanceId, ledgerId, cumulativeSpentUsd, null, now, out var counted);
        if (dropRequestIds is not null) s = s with { Reservations = s.Reservations.RemoveRange(dropRequestIds) };
        return Finish(s, now, rolled, x => new LeaseSettleResult(counted, false, 0m, x.Stopped));
    }

    /// <summary>Final report and return of a lease: its unspent part stops counting as reserved.</summary>
    public static BudgetOutcome<LeaseSettleResult> ReturnLease(
        BudgetState state, string instanceId, string leaseId, decimal cumulativeSpentUsd, IEnumerable<string>? settledRequestIds, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        s = ApplyLeaseReport(s, instanceId, leaseId, cumulativeSpentUsd, settledRequestIds, now, out var counted);
        s = CloseLease(s, leaseId, now);
        return Finish(s, now, rolled, x => new LeaseSettleResult(counted, false, 0m, x.Stopped));
    }

    /// <summary>Drops reservations and leases whose time is up (every other operation does this too) and forgets
    /// settled ids and closed leases past their retention.</summary>
    public static BudgetOutcome<ExpireResult> Expire(BudgetState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var before = state;
        var (s, rolled) = Maintain(state, now);
        var reservations = before.Reservations.Count(r => !s.Reservations.ContainsKey(r.Key) && r.Value.ExpiresAt <= now);
        var leases = before.Leases.Count(l => !s.Leases.ContainsKey(l.Key));
        var freed = before.ReservedUsd - s.ReservedUsd;
        return Finish(s, now, rolled, _ => new ExpireResult(reservations, leases, freed));
    }

    /// <summary>Starts the current period over: spent 0, thresholds cleared. Reservations and leases are kept (their
    /// requests are still in flight) and settled ids are still remembered.</summary>
    public static BudgetOutcome<BudgetSnapshot> Reset(BudgetState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        s = s with { SpentUsd = 0m, ThresholdsRaised = [] };
        return Finish(s, now, rolled, Snapshot);
    }

    /// <summary>Emergency stop: every reservation and lease request is refused until <see cref="Resume"/>. Active leases
    /// are revoked (their holders learn it at their next report); settlements still count.</summary>
    public static BudgetOutcome<BudgetSnapshot> Stop(BudgetState state, string reason, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        foreach (var leaseId in s.Leases.Keys.ToList()) s = CloseLease(s, leaseId, now);
        s = s with { Stopped = true, StopReason = reason, StoppedAt = now.ToUniversalTime() };
        return Finish(s, now, rolled, Snapshot);
    }

    /// <summary>Lifts an emergency stop.</summary>
    public static BudgetOutcome<BudgetSnapshot> Resume(BudgetState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (s, rolled) = Maintain(state, now);
        s = s with { Stopped = false, StopReason = null, StoppedAt = null };
        return Finish(s, now, rolled, Snapshot);
    }

    /// <summary>The budget as it stands at <paramref name="now"/> (rollover and expiry applied to a copy; the given state is not changed).</summary>
    public static BudgetSnapshot GetState(BudgetState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Snapshot(Maintain(state, now).State);
    }

    private static BudgetSnapshot Snapshot(BudgetState s) =>
        new(
            s.Definition.Scope, s.Definition.LimitUsd, s.SpentUsd, s.ReservedUsd, Remaining(s), s.PeriodStart, s.PeriodEnd,
            s.Stopped, s.StopReason, s.ThresholdsRaised, s.Definition.Mode, s.Leases.Count, s.Reservations.Count,
            !s.Stopped && LeaseAmount(s, decimal.MaxValue) > 0m);

    private static decimal Remaining(BudgetState s) => Math.Max(0m, s.Definition.LimitUsd - s.SpentUsd - s.ReservedUsd);

    /// <summary>What a lease request would get now (0: exact mode).</summary>
    private static decimal LeaseAmount(BudgetState s, decimal wantedUsd)
    {
        var policy = s.Definition.Leases;
        if (!policy.Enabled) return 0m;
        if (s.Definition.Mode == BudgetMode.AlertOnly) return wantedUsd;
        var headroom = s.HeadroomUsd;
        var exactBelow = Math.Max(s.Definition.LimitUsd * policy.ExactModeFraction, policy.ExactModeRequestMultiple * policy.MaxRequestCostUsd);
        if (headroom <= 0m || headroom < exactBelow) return 0m;
        return Math.Min(wantedUsd, decimal.Round(headroom * policy.MaxLeaseFraction, 6, MidpointRounding.ToZero));
    }

    private static BudgetState ApplyLeaseReport(
        BudgetState s, string instanceId, string leaseId, decimal cumulativeSpentUsd, IEnumerable<string>? settledRequestIds, DateTimeOffset now, out decimal counted)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        ArgumentOutOfRangeException.ThrowIfNegative(cumulativeSpentUsd);
        var forgetAt = now.ToUniversalTime() + s.Definition.SettledRetention;
        if (s.Leases.TryGetValue(leaseId, out var lease))
        {
            if (lease.InstanceId != instanceId) throw new ArgumentException($"lease {leaseId} belongs to another instance", nameof(instanceId));
            counted = Math.Max(0m, cumulativeSpentUsd - lease.ReportedUsd);
            s = s with { Leases = s.Leases.SetItem(leaseId, lease with { ReportedUsd = lease.ReportedUsd + counted }) };
        }
        else if (s.ClosedLeases.TryGetValue(leaseId, out var closed))
        {
            if (closed.InstanceId != instanceId) throw new ArgumentException($"lease {leaseId} belongs to another instance", nameof(instanceId));
            counted = Math.Max(0m, cumulativeSpentUsd - closed.ReportedUsd);
            s = s with { ClosedLeases = s.ClosedLeases.SetItem(leaseId, closed with { ReportedUsd = closed.ReportedUsd + counted, ForgetAt = forgetAt }) };
        }
        else
        {
            counted = cumulativeSpentUsd;
            s = s with { ClosedLeases = s.ClosedLeases.SetItem(leaseId, new BudgetClosedLease(instanceId, cumulativeSpentUsd, forgetAt)) };
        }

        if (settledRequestIds is not null)
        {
            var settled = s.SettledRequests.ToBuilder();
            foreach (var id in settledRequestIds)
            {
                if (!string.IsNullOrEmpty(id)) settled[id] = forgetAt;
            }

            s = s with { SettledRequests = settled.ToImmutable() };
        }

        return s with { SpentUsd = s.SpentUsd + counted };
    }

    private static BudgetState CloseLease(BudgetState s, string leaseId, DateTimeOffset now)
    {
        if (!s.Leases.TryGetValue(leaseId, out var lease)) return s;
        return s with
        {
            Leases = s.Leases.Remove(leaseId),
            ClosedLeases = s.ClosedLeases.SetItem(leaseId, new BudgetClosedLease(lease.InstanceId, lease.ReportedUsd, now.ToUniversalTime() + s.Definition.SettledRetention)),
        };
    }

    private static (DateTimeOffset Start, DateTimeOffset End) Window(BudgetDefinition d, DateTimeOffset now, DateTimeOffset createdAt) =>
        BudgetPeriods.Containing(d.Period, BudgetPeriods.ResolveTimeZone(d.TimeZone), d.WeekStartsOn, now, createdAt);

    /// <summary>Period rollover, expiry of reservations and leases, and pruning of remembered ids.</summary>
    internal static (BudgetState State, bool Rolled) Maintain(BudgetState s, DateTimeOffset now)
    {
        var rolled = false;
        if (now >= s.PeriodEnd)
        {
            var (start, end) = Window(s.Definition, now, s.CreatedAt);
            s = s with { PeriodStart = start, PeriodEnd = end, SpentUsd = 0m, ThresholdsRaised = [] };
            rolled = true;
        }

        if (s.Reservations.Values.Any(r => r.ExpiresAt <= now))
        {
            s = s with { Reservations = s.Reservations.RemoveRange(s.Reservations.Where(r => r.Value.ExpiresAt <= now).Select(r => r.Key).ToList()) };
        }

        foreach (var leaseId in s.Leases.Where(l => l.Value.ExpiresAt <= now).Select(l => l.Key).ToList()) s = CloseLease(s, leaseId, now);

        if (s.SettledRequests.Values.Any(f => f <= now))
        {
            s = s with { SettledRequests = s.SettledRequests.RemoveRange(s.SettledRequests.Where(r => r.Value <= now).Select(r => r.Key).ToList()) };
        }

        if (s.ClosedLeases.Values.Any(c => c.ForgetAt <= now))
        {
            s = s with { ClosedLeases = s.ClosedLeases.RemoveRange(s.ClosedLeases.Where(c => c.Value.ForgetAt <= now).Select(c => c.Key).ToList()) };
        }

        return (s, rolled);
    }

    private static BudgetOutcome<T> Finish<T>(BudgetState s, DateTimeOffset now, bool rolled, Func<BudgetState, T> result)
    {
        var alerts = ImmutableArray.CreateBuilder<BudgetAlert>();
        var d = s.Definition;
        if (s.SpentUsd > 0m)
        {
            var raised = s.ThresholdsRaised;
            foreach (var threshold in d.AlertThresholds.Distinct().Order())
            {
                if (raised.Contains(threshold) || s.SpentUsd < threshold * d.LimitUsd) continue;
                raised = raised.Add(threshold);
                alerts.Add(new BudgetAlert(d.Scope, threshold, s.PeriodStart, s.PeriodEnd, s.SpentUsd, d.LimitUsd, now.ToUniversalTime()));
            }

            if (alerts.Count > 0) s = s with { ThresholdsRaised = [.. raised.Order()] };
        }

        return new BudgetOutcome<T>(s, result(s), alerts.ToImmutable(), rolled);
    }
}
