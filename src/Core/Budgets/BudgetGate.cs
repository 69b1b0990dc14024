using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>Settings for an instance's budget gate (section <c>Gateway:Budgets</c>).</summary>
public sealed class BudgetGateOptions
{
    /// <summary>How often an instance re-reads which budgets exist and which are stopped (an emergency stop reaches every instance within this).</summary>
    public double RefreshSeconds { get; set; } = 5;
    /// <summary>How often an instance reports what it spent under its leases.</summary>
    public double ReportSeconds { get; set; } = 2;
    /// <summary>A lease is asked for this many times the request's maximum cost at least (the budget may grant less).</summary>
    public int LeaseRequests { get; set; } = 20;
    /// <summary>A lease is asked to cover this many seconds of the spend this instance saw under its previous lease, so
    /// busy instances renew every few tens of seconds rather than every few requests (the budget may grant less).</summary>
    public double LeaseTargetSeconds { get; set; } = 30;
    /// <summary>How long a lease lives; it must outlive the longest request (the budget's lease policy).</summary>
    public double LeaseSeconds { get; set; } = 900;
    /// <summary>How long a reservation made at the budget lives before it expires unsettled.</summary>
    public double ReservationSeconds { get; set; } = 900;
    /// <summary>This instance's id in leases (default: machine name and a random suffix).</summary>
    public string? InstanceId { get; set; }
    /// <summary>Where budget alerts are POSTed (signed); none when empty. Alerts always go to the <c>budget-alerts</c> queue.</summary>
    public string? AlertWebhookUrl { get; set; }
    /// <summary>The webhook signing secret (an app setting; may be a Key Vault reference).</summary>
    public string? AlertWebhookSecret { get; set; }
}

/// <summary>Receives budget alerts (each once per threshold per period) for delivery: a queue, a webhook.</summary>
public interface IBudgetAlertSink
{
    Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken);
}

/// <summary>Discards alerts.</summary>
public sealed class NullBudgetAlertSink : IBudgetAlertSink
{
    public static readonly NullBudgetAlertSink Instance = new();

    public Task PublishAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A request's hold on one budget: local (under this instance's lease) or a reservation at the budget.</summary>
public sealed record BudgetHold(BudgetScope Scope, BudgetLeaseLedger? Ledger);

/// <summary>The gate's answer for one request.</summary>
public sealed record BudgetAdmission(bool Admitted, ImmutableArray<BudgetHold> Holds, BudgetScope? RefusedBy, BudgetRefusal Refusal, BudgetSnapshot? RefusingBudget)
{
    public static BudgetAdmission Unlimited { get; } = new(true, [], null, BudgetRefusal.None, null);
}

/// <summary>
/// An instance's side of budgets. A request must fit every budget on its path (key, user, team, each tag, global).
/// Far from a limit, it is admitted against this instance's lease on the budget — no round trip; the instance reports
/// what it spent every few seconds. Near a limit the budget grants no lease and each request reserves its maximum cost
/// at the budget itself, one at a time in the budget's order, and settles its actual cost after. Which budgets exist
/// (and which are stopped) is re-read every <see cref="BudgetGateOptions.RefreshSeconds"/>.
/// </summary>
public sealed class BudgetGate(IBudgetBackend backend, TimeProvider time, BudgetGateOptions options, IBudgetAlertSink? alerts = null) : IDisposable
{
    private readonly IBudgetAlertSink _alerts = alerts ?? NullBudgetAlertSink.Instance;
    private readonly ConcurrentDictionary<BudgetScope, BudgetLeaseLedger> _ledgers = new();
    private readonly ConcurrentDictionary<BudgetScope, SemaphoreSlim> _renewals = new();
    private readonly ConcurrentQueue<BudgetLeaseLedger> _retired = new();
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private readonly SemaphoreSlim _reportGate = new(1, 1);
    private volatile BudgetDirectory? _directory;
    private long _lastReport = time.GetTimestamp();

    public string InstanceId { get; } = options.InstanceId ?? $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";

    public IBudgetBackend Backend => backend;

    private sealed record BudgetDirectory(ImmutableDictionary<BudgetScope, BudgetSnapshot> Budgets, long LoadedAt);

    /// <summary>The budgets that apply to a request with this principal, end user and tags, in path order.</summary>
    public static IEnumerable<BudgetScope> PathOf(string? keyId, string? user, string? team, IReadOnlyDictionary<string, string> tags)
    {
        if (!string.IsNullOrEmpty(keyId)) yield return BudgetScope.ForKey(keyId);
        if (!string.IsNullOrEmpty(user)) yield return BudgetScope.ForUser(user);
        if (!string.IsNullOrEmpty(team)) yield return BudgetScope.ForTeam(team);
        foreach (var (name, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal)) yield return BudgetScope.ForTag(name, value);
        yield return BudgetScope.Global;
    }

    /// <summary>Forgets the cached directory so the next request re-reads it (after an admin change on this instance).</summary>
    public void Invalidate() => _directory = null;

    private async ValueTask<BudgetDirectory> DirectoryAsync(CancellationToken cancellationToken)
    {
        var current = _directory;
        if (current is not null && time.GetElapsedTime(current.LoadedAt).TotalSeconds < options.RefreshSeconds) return current;
        // One refresh at a time; the others go on with the previous directory (if there is one).
        if (current is not null && !await _refreshGate.WaitAsync(0, cancellationToken).ConfigureAwait(false)) return current;
        if (current is null) await _refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_directory is { } fresh && time.GetElapsedTime(fresh.LoadedAt).TotalSeconds < options.RefreshSeconds) return fresh;
            var list = await backend.ListAsync(cancellationToken).ConfigureAwait(false);
            var directory = new BudgetDirectory(list.ToImmutableDictionary(s => s.Scope), time.GetTimestamp());
            foreach (var (scope, ledger) in _ledgers)
            {
                // a stopped or deleted budget revokes this instance's lease at once
                if (!directory.Budgets.TryGetValue(scope, out var snapshot) || snapshot.Stopped) Retire(scope, ledger);
            }

            _directory = directory;
            return directory;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <summary>Admits a request costing at most <paramref name="maxCostUsd"/> (null when unbounded: <paramref name="estimateUsd"/> is then its best guess) on every budget of its path.</summary>
    public async Task<BudgetAdmission> AdmitAsync(string requestId, IEnumerable<BudgetScope> path, decimal estimateUsd, decimal? maxCostUsd, CancellationToken cancellationToken)
    {
        var directory = await DirectoryAsync(cancellationToken).ConfigureAwait(false);
        if (directory.Budgets.IsEmpty) return BudgetAdmission.Unlimited;
        var holds = ImmutableArray.CreateBuilder<BudgetHold>();
        foreach (var scope in path)
        {
            if (!directory.Budgets.TryGetValue(scope, out var known)) continue;
            if (known.Stopped)
            {
                await ReleaseAsync(requestId, holds.ToImmutable(), cancellationToken).ConfigureAwait(false);
                return new BudgetAdmission(false, [], scope, BudgetRefusal.Stopped, known);
            }

            var (hold, refusal, snapshot) = await AdmitOneAsync(scope, requestId, estimateUsd, maxCostUsd, cancellationToken).ConfigureAwait(false);
            if (hold is null)
            {
                await ReleaseAsync(requestId, holds.ToImmutable(), cancellationToken).ConfigureAwait(false);
                return new BudgetAdmission(false, [], scope, refusal, snapshot ?? known);
            }

            holds.Add(hold);
        }

        return new BudgetAdmission(true, holds.ToImmutable(), null, BudgetRefusal.None, null);
    }

    private async Task<(BudgetHold? Hold, BudgetRefusal Refusal, BudgetSnapshot? Snapshot)> AdmitOneAsync(
        BudgetScope scope, string requestId, decimal estimateUsd, decimal? maxCostUsd, CancellationToken cancellationToken)
    {
        var amount = maxCostUsd ?? estimateUsd;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var now = time.GetUtcNow();
            if (_ledgers.TryGetValue(scope, out var ledger) && ledger.TryAdmit(requestId, estimateUsd, maxCostUsd, now).Admitted)
                return (new BudgetHold(scope, ledger), BudgetRefusal.None, null);
            if (attempt == 1) break;

            // Renew the lease (one renewal per scope at a time; requests that waited try the new lease first).
            var renewal = _renewals.GetOrAdd(scope, _ => new SemaphoreSlim(1, 1));
            await renewal.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_ledgers.TryGetValue(scope, out var latest) && !ReferenceEquals(latest, ledger)) continue;
                if (latest is not null) Retire(scope, latest);
                var granted = await backend.SendAsync(scope, new BudgetCommand
                {
                    Op = BudgetOp.Lease,
                    InstanceId = InstanceId,
                    AmountUsd = LeaseAmount(latest, amount, now),
                    Ttl = TimeSpan.FromSeconds(options.LeaseSeconds),
                }, cancellationToken).ConfigureAwait(false);
                await PublishAsync(granted, cancellationToken).ConfigureAwait(false);
                if (!granted.Exists) return (new BudgetHold(scope, null), BudgetRefusal.None, null);
                if (granted.Grant is { } grant)
                {
                    _ledgers[scope] = new BudgetLeaseLedger(grant);
                    continue;
                }

                if (granted.Refusal == BudgetRefusal.Stopped) return (null, BudgetRefusal.Stopped, granted.Snapshot);
            }
            finally
            {
                renewal.Release();
            }

            break;
        }

        // Exact mode: reserve this request's maximum cost at the budget itself.
        var reserved = await backend.SendAsync(scope, new BudgetCommand
        {
            Op = BudgetOp.Reserve,
            RequestId = requestId,
            AmountUsd = amount,
            MaxCostUsd = maxCostUsd,
            Ttl = TimeSpan.FromSeconds(options.ReservationSeconds),
        }, cancellationToken).ConfigureAwait(false);
        await PublishAsync(reserved, cancellationToken).ConfigureAwait(false);
        return reserved.Admitted ? (new BudgetHold(scope, null), BudgetRefusal.None, null) : (null, reserved.Refusal, reserved.Snapshot);
    }

    /// <summary>
    /// What to ask for: <see cref="BudgetGateOptions.LeaseRequests"/> times this request's maximum cost, or — when the
    /// previous lease showed this instance spending faster — <see cref="BudgetGateOptions.LeaseTargetSeconds"/> of that
    /// rate. The budget grants at most its lease policy's share of what is left, so near the limit leases stay small.
    /// </summary>
    private decimal LeaseAmount(BudgetLeaseLedger? previous, decimal requestMaxUsd, DateTimeOffset now)
    {
        var floor = Math.Max(requestMaxUsd, 0.000001m) * Math.Max(1, options.LeaseRequests);
        if (previous is null || options.LeaseTargetSeconds <= 0) return floor;
        var seconds = (decimal)Math.Max(1, (now - previous.Grant.GrantedAt).TotalSeconds);
        var used = previous.GetSnapshot();
        var rate = (used.SpentUsd + used.ExposureUsd) / seconds;
        return Math.Max(floor, decimal.Round(rate * (decimal)options.LeaseTargetSeconds, 6, MidpointRounding.AwayFromZero));
    }

    /// <summary>Settles a request's actual cost on every budget it was admitted by (0 for a request that cost nothing).</summary>
    public async Task SettleAsync(string requestId, BudgetAdmission admission, decimal actualUsd, CancellationToken cancellationToken)
    {
        foreach (var hold in admission.Holds)
        {
            if (hold.Ledger is { } ledger)
            {
                ledger.Settle(requestId, actualUsd);
                continue;
            }

            var settled = await backend.SendAsync(hold.Scope, new BudgetCommand { Op = BudgetOp.Settle, RequestId = requestId, AmountUsd = actualUsd }, cancellationToken)
                .ConfigureAwait(false);
            await PublishAsync(settled, cancellationToken).ConfigureAwait(false);
        }

        if (time.GetElapsedTime(Interlocked.Read(ref _lastReport)).TotalSeconds >= options.ReportSeconds) await ReportAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReleaseAsync(string requestId, ImmutableArray<BudgetHold> holds, CancellationToken cancellationToken)
    {
        foreach (var hold in holds)
        {
            if (hold.Ledger is { } ledger) ledger.Release(requestId);
            else await backend.SendAsync(hold.Scope, new BudgetCommand { Op = BudgetOp.Release, RequestId = requestId }, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Retire(BudgetScope scope, BudgetLeaseLedger ledger)
    {
        ledger.Retire();
        if (_ledgers.TryRemove(new KeyValuePair<BudgetScope, BudgetLeaseLedger>(scope, ledger))) _retired.Enqueue(ledger);
    }

    /// <summary>
    /// Reports what this instance has spent under its leases (cumulative, so a repeated report counts once) and
    /// returns retired leases once their requests have settled. Runs every few seconds from settlements.
    /// </summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        if (!await _reportGate.WaitAsync(0, cancellationToken).ConfigureAwait(false)) return;
        try
        {
            Interlocked.Exchange(ref _lastReport, time.GetTimestamp());
            foreach (var (scope, ledger) in _ledgers)
            {
                // Only the cumulative spend is sent, not the ids of the requests settled under the lease: a request held
                // by a lease is settled by this ledger alone (which counts each id once), never at the budget, so the
                // budget has nothing to de-duplicate — and keeping every id for a day would grow its state with traffic.
                var report = ledger.TakeReport();
                var result = await backend.SendAsync(scope, new BudgetCommand
                {
                    Op = BudgetOp.SettleLease, InstanceId = report.InstanceId, LeaseId = report.LeaseId,
                    CumulativeSpentUsd = report.CumulativeSpentUsd,
                }, cancellationToken).ConfigureAwait(false);
                await PublishAsync(result, cancellationToken).ConfigureAwait(false);
                if (result.Stopped || (result.Exists && !result.Admitted)) Retire(scope, ledger);
            }

            // A retired lease stays queued until its return has been acknowledged: if the budget cannot be reached its
            // final spend is sent again at the next report (cumulative, so a return that did arrive counts nothing twice).
            var keep = new List<BudgetLeaseLedger>();
            try
            {
                while (_retired.TryDequeue(out var retired))
                {
                    keep.Add(retired);
                    var report = retired.TakeReport();
                    var done = retired.GetSnapshot().InFlight == 0;
                    var result = await backend.SendAsync(retired.Grant.Scope, new BudgetCommand
                    {
                        Op = done ? BudgetOp.ReturnLease : BudgetOp.SettleLease, InstanceId = report.InstanceId, LeaseId = report.LeaseId,
                        CumulativeSpentUsd = report.CumulativeSpentUsd,
                    }, cancellationToken).ConfigureAwait(false);
                    if (done) keep.Remove(retired);
                    await PublishAsync(result, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                foreach (var retired in keep) _retired.Enqueue(retired);
            }
        }
        finally
        {
            _reportGate.Release();
        }
    }

    public void Dispose()
    {
        _refreshGate.Dispose();
        _reportGate.Dispose();
        foreach (var renewal in _renewals.Values) renewal.Dispose();
    }

    private async Task PublishAsync(BudgetCommandResult result, CancellationToken cancellationToken)
    {
        if (!result.Alerts.IsDefaultOrEmpty) await _alerts.PublishAsync(result.Alerts, cancellationToken).ConfigureAwait(false);
    }
}
