using System.Collections.Concurrent;
using System.Collections.Immutable;
using Gateway.Core.Entities;

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
    /// <summary>A new lease is fetched in the background once less than this share of the current one is left.</summary>
    public double RenewWhenLeft { get; set; } = 0.5;
    /// <summary>How long a lease lives; it must outlive the longest request (the budget's lease policy).</summary>
    public double LeaseSeconds { get; set; } = 900;
    /// <summary>How long a reservation made at the budget lives before it expires unsettled.</summary>
    public double ReservationSeconds { get; set; } = 900;
    /// <summary>How long a lease renewal may wait for the budget before it is given up (and its lease, if granted later, returned).</summary>
    public double RenewalTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// A fresh instance (no lease yet on a budget) admits requests at once against the lease it is asking for, up to this
    /// share of what the budget had left when last read, instead of waiting for the budget's answer; 0 turns it off.
    /// </summary>
    public double ProvisionalShare { get; set; } = 0.1;
    /// <summary>After the budget answers that requests must be reserved one at a time, how long before this instance asks for a lease again.</summary>
    public double ExactModeRecheckSeconds { get; set; } = 2;
    /// <summary>An alert not delivered by the instance whose request raised it is delivered by any instance after this.</summary>
    public double AlertTakeoverSeconds { get; set; } = 30;
    /// <summary>How long admin operations wait for the budget's answer.</summary>
    public double AdminTimeoutSeconds { get; set; } = 30;
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
/// Far from a limit it is admitted against this instance's lease on the budget, with no round trip; a new lease is
/// fetched in the background before the current one runs out, and what was spent is reported on a timer. Near a limit
/// the budget grants no lease and each request reserves its maximum cost at the budget itself, decided one at a time in
/// the budget's order; a request that gets no answer within its admission window is refused with 429 and Retry-After
/// (never queued). Budgets are entities reached by one-way signals whose replies are read back from the entity's state:
/// nothing on the request path waits on an orchestration. Which budgets exist (and which are stopped) is re-read every
/// <see cref="BudgetGateOptions.RefreshSeconds"/> in the background; alerts raised by this instance's requests are
/// delivered from the budgets' outboxes at that refresh.
/// </summary>
public sealed class BudgetGate : IAsyncDisposable, IDisposable
{
    private readonly EntityClient<BudgetState, BudgetCommand, BudgetCommandResult> _entities;
    private readonly TimeProvider _time;
    private readonly BudgetGateOptions _options;
    private readonly IBudgetAlertSink _alerts;
    private readonly IBudgetReportSpill? _spill;
    private readonly ConcurrentDictionary<BudgetScope, Slot> _slots = new();
    private readonly ConcurrentQueue<BudgetLeaseLedger> _retired = new();
    private readonly ConcurrentQueue<(BudgetScope Scope, BudgetCommand Command)> _unsent = new();
    private readonly SingleFlight<BudgetDirectory> _refresh;
    private readonly SemaphoreSlim _reportGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private volatile BudgetDirectory? _directory;
    private readonly Lock _pumpGate = new();
    private volatile Task? _pump;
    private long _lastUsed;

    public BudgetGate(IEntityChannel channel, TimeProvider time, BudgetGateOptions options, IBudgetAlertSink? alerts = null, IBudgetReportSpill? spill = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _time = time;
        _options = options;
        _alerts = alerts ?? NullBudgetAlertSink.Instance;
        _spill = spill;
        InstanceId = options.InstanceId ?? $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";
        _entities = new EntityClient<BudgetState, BudgetCommand, BudgetCommandResult>(channel, BudgetEntityKind.Instance, time, InstanceId);
        _refresh = new SingleFlight<BudgetDirectory>(LoadDirectoryAsync, time);
    }

    public string InstanceId { get; }

    /// <summary>The budgets' entities, as this instance reaches them.</summary>
    public EntityClient<BudgetState, BudgetCommand, BudgetCommandResult> Entities => _entities;

    public BudgetGateOptions Options => _options;

    /// <summary>This instance's hold on one scope: its current lease, a renewal in flight, and whether the budget wants exact mode.</summary>
    private sealed class Slot
    {
        public readonly Lock Gate = new();
        public BudgetLeaseLedger? Ledger;
        public long LedgerInstalledAt;
        public decimal LastReported;
        public Task<RenewalOutcome>? Renewal;
        public long ExactUntil;
        /// <summary>This instance's running report of its reservations at the budget (exact mode).</summary>
        public ExactLedger? Exact;
    }

    /// <summary>
    /// What this instance owes the budget for its reservations: the cumulative cost of those settled (under one ledger
    /// id, like a lease that holds nothing, so a repeated report counts once) and the reservations to drop. Sent at once
    /// after each settle — one report in flight at a time, later settles ride on the next — and again on the timer until
    /// it has gone out.
    /// </summary>
    private sealed class ExactLedger(string id)
    {
        public readonly Lock Gate = new();
        public readonly string Id = id;
        public readonly HashSet<string> Drop = new(StringComparer.Ordinal);
        public decimal Cumulative;
        public decimal Reported;
        public bool Sending;
        public bool Dirty;
        public Task Flight = Task.CompletedTask;

        public bool Pending => Drop.Count > 0 || Cumulative != Reported;
    }

    private enum RenewalOutcome
    {
        Granted,
        ExactMode,
        Stopped,
        NoBudget,
        TimedOut,
    }

    private sealed record BudgetDirectory(ImmutableDictionary<BudgetScope, BudgetState> Budgets, DateTimeOffset ReadAt, long ReadStarted);

    /// <summary>The budgets that apply to a request with this principal, end user and tags, in path order.</summary>
    /// <summary>
    /// The scopes a request's spend counts against: its key, the key's user, the end user the client named (an extra
    /// scope, never in place of the key's user), the key's team, every tag, and the global budget.
    /// </summary>
    public static IEnumerable<BudgetScope> PathOf(string? keyId, string? user, string? team, IReadOnlyDictionary<string, string> tags, string? endUser = null)
    {
        if (!string.IsNullOrEmpty(keyId)) yield return BudgetScope.ForKey(keyId);
        if (!string.IsNullOrEmpty(user)) yield return BudgetScope.ForUser(user);
        if (!string.IsNullOrEmpty(endUser) && !string.Equals(endUser, user, StringComparison.Ordinal)) yield return BudgetScope.ForUser(endUser);
        if (!string.IsNullOrEmpty(team)) yield return BudgetScope.ForTeam(team);
        foreach (var (name, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal)) yield return BudgetScope.ForTag(name, value);
        yield return BudgetScope.Global;
    }

    /// <summary>
    /// The first stopped budget on the path, from this instance's directory, as a refusal; null when none is. For a
    /// request with nothing to reserve (a free model): it takes nothing from a budget, but a stop refuses it all the same.
    /// </summary>
    public async Task<BudgetAdmission?> StoppedOnPathAsync(IEnumerable<BudgetScope> path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        Touch();
        var directory = await DirectoryAsync(cancellationToken).ConfigureAwait(false);
        foreach (var scope in path)
        {
            if (directory.Budgets.TryGetValue(scope, out var state) && state.Stopped)
                return new BudgetAdmission(false, [], scope, BudgetRefusal.Stopped, BudgetMachine.GetState(state, directory.ReadAt));
        }

        return null;
    }

    /// <summary>Forgets the cached directory so the next request re-reads it (after an admin change on this instance).</summary>
    public void Invalidate()
    {
        _refresh.Invalidate();
        _directory = null;
    }

    private double Seconds(long since) => _time.GetElapsedTime(since).TotalSeconds;

    private async ValueTask<BudgetDirectory> DirectoryAsync(CancellationToken cancellationToken)
    {
        var current = _directory;
        if (current is not null)
        {
            var age = Seconds(current.ReadStarted);
            if (age < _options.RefreshSeconds) return current;
            // stale: refreshed in the background, unless so stale (an idle instance) that a stop could have been missed
            if (age < 2 * _options.RefreshSeconds)
            {
                _ = RefreshInBackgroundAsync();
                return current;
            }
        }

        return await _refresh.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await RefreshAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // the previous directory stays in force; the next request or timer tick tries again
        }
    }

    /// <summary>Re-reads every budget now (one query, shared by everyone who needs it at once) and delivers pending alerts.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refresh.RunAsync(cancellationToken).ConfigureAwait(false);
        if (_delivery is { } delivery) await delivery.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private volatile Task? _delivery;

    /// <summary>Reads every budget, retires leases the budgets no longer hold, and delivers pending alerts in the background.</summary>
    private async Task<BudgetDirectory> LoadDirectoryAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var budgets = ImmutableDictionary.CreateBuilder<BudgetScope, BudgetState>();
        var outboxes = new List<(BudgetScope Scope, IReadOnlyList<EntityOutboxItem> Items)>();
        await foreach (var (state, envelope) in _entities.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            budgets[state.Definition.Scope] = state;
            if (envelope.Outbox.Count > 0) outboxes.Add((state.Definition.Scope, envelope.Outbox));
        }

        var directory = new BudgetDirectory(budgets.ToImmutable(), _time.GetUtcNow(), started);
        foreach (var (scope, slot) in _slots)
        {
            lock (slot.Gate)
            {
                var known = directory.Budgets.TryGetValue(scope, out var state);
                // the budget hands out leases again: stop reserving one request at a time
                if (known && slot.ExactUntil != 0 && BudgetMachine.GetState(state!, directory.ReadAt).LeasesAvailable) slot.ExactUntil = 0;
                if (slot.Ledger is not { } ledger) continue;
                // a deleted or stopped budget, or a lease it no longer holds (revoked, expired), ends admissions against the lease
                var revoked = slot.LedgerInstalledAt < started && !ledger.IsProvisional && (!known || !state!.Leases.ContainsKey(ledger.Grant.LeaseId));
                if (!known || state!.Stopped || revoked) RetireLocked(slot);
            }
        }

        if (_directory is not { } current || current.ReadStarted < started) _directory = directory;
        if (outboxes.Count > 0) _delivery = DeliverAllAlertsAsync(outboxes);
        return directory;
    }

    private async Task DeliverAllAlertsAsync(List<(BudgetScope Scope, IReadOnlyList<EntityOutboxItem> Items)> outboxes)
    {
        foreach (var (scope, items) in outboxes) await DeliverAlertsAsync(scope, items, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Delivers the alerts raised by this instance's requests (or left undelivered by another for a while), then acknowledges them.</summary>
    private async Task DeliverAlertsAsync(BudgetScope scope, IReadOnlyList<EntityOutboxItem> items, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var mine = items.Where(i => i.RaisedBy == InstanceId || (now - i.At).TotalSeconds >= _options.AlertTakeoverSeconds).ToList();
        if (mine.Count == 0) return;
        try
        {
            await _alerts.PublishAsync([.. mine.Select(BudgetEntityKind.AlertOf)], cancellationToken).ConfigureAwait(false);
            await _entities.AcknowledgeAsync(scope.ToString(), [.. mine.Select(i => i.Id)], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // not acknowledged: delivered at a later refresh (receivers deduplicate by the alert id)
        }
    }

    /// <summary>
    /// Admits a request costing at most <paramref name="maxCostUsd"/> (null when unbounded: <paramref name="estimateUsd"/>
    /// is then its best guess) on every budget of its path. Waits on budgets at most <paramref name="maxWait"/>: a budget
    /// that has not answered by then refuses the request as <see cref="BudgetRefusal.Undecided"/>.
    /// </summary>
    public async Task<BudgetAdmission> AdmitAsync(string requestId, IEnumerable<BudgetScope> path, decimal estimateUsd, decimal? maxCostUsd, TimeSpan maxWait,
        CancellationToken cancellationToken)
    {
        Touch();
        var directory = await DirectoryAsync(cancellationToken).ConfigureAwait(false);
        if (directory.Budgets.IsEmpty) return BudgetAdmission.Unlimited;
        var scopes = new List<(BudgetScope Scope, BudgetState State)>();
        foreach (var scope in path)
        {
            if (!directory.Budgets.TryGetValue(scope, out var state) || scopes.Exists(s => s.Scope == scope)) continue;
            if (state.Stopped) return new BudgetAdmission(false, [], scope, BudgetRefusal.Stopped, BudgetMachine.GetState(state, directory.ReadAt));
            scopes.Add((scope, state));
        }

        if (scopes.Count == 0) return BudgetAdmission.Unlimited;
        var deadline = _time.GetTimestamp() + (long)(Math.Max(0, maxWait.TotalSeconds) * _time.TimestampFrequency);
        var decisions = scopes.Count == 1
            ? [await AdmitOneAsync(scopes[0].Scope, scopes[0].State, directory, requestId, estimateUsd, maxCostUsd, deadline, cancellationToken).ConfigureAwait(false)]
            : await Task.WhenAll(scopes.Select(s => AdmitOneAsync(s.Scope, s.State, directory, requestId, estimateUsd, maxCostUsd, deadline, cancellationToken))).ConfigureAwait(false);

        var holds = ImmutableArray.CreateBuilder<BudgetHold>();
        var refusal = -1;
        for (var i = 0; i < decisions.Length; i++)
        {
            if (decisions[i].Refusal != BudgetRefusal.None) refusal = refusal < 0 ? i : refusal;
            else if (decisions[i].Hold is { } hold) holds.Add(hold);
        }

        if (refusal < 0) return new BudgetAdmission(true, holds.ToImmutable(), null, BudgetRefusal.None, null);
        await ReleaseAsync(requestId, holds.ToImmutable()).ConfigureAwait(false);
        var refused = decisions[refusal];
        return new BudgetAdmission(false, [], scopes[refusal].Scope, refused.Refusal,
            refused.Snapshot ?? BudgetMachine.GetState(scopes[refusal].State, directory.ReadAt));
    }

    private readonly record struct Decision(BudgetHold? Hold, BudgetRefusal Refusal, BudgetSnapshot? Snapshot);

    private async Task<Decision> AdmitOneAsync(BudgetScope scope, BudgetState known, BudgetDirectory directory, string requestId, decimal estimateUsd, decimal? maxCostUsd,
        long deadline, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(scope, _ => new Slot());
        var amount = maxCostUsd ?? estimateUsd;
        for (var round = 0; round < 3; round++)
        {
            Task<RenewalOutcome>? renewal;
            lock (slot.Gate)
            {
                if (slot.Ledger is { } ledger && ledger.TryAdmit(requestId, estimateUsd, maxCostUsd, _time.GetUtcNow()).Admitted)
                {
                    RenewAheadLocked(scope, slot, ledger, amount);
                    return new Decision(new BudgetHold(scope, ledger), BudgetRefusal.None, null);
                }

                if (slot.ExactUntil > _time.GetTimestamp()) break;
                if (slot.Ledger is null && slot.Renewal is null && round == 0 && ProvisionalAmount(known, directory, amount) is > 0m and var provisional)
                {
                    // no lease here yet (a fresh instance, or one idle past its lease): admit at once against the lease
                    // being asked for, which the budget grants at least this much of (see PRECISION.md)
                    slot.Ledger = new BudgetLeaseLedger(ProvisionalGrant(scope, known, provisional), provisional: true);
                    slot.LedgerInstalledAt = _time.GetTimestamp();
                    slot.LastReported = 0m;
                    StartRenewalLocked(scope, slot, amount);
                    continue;
                }

                renewal = slot.Renewal ?? StartRenewalLocked(scope, slot, amount);
            }

            var outcome = await WaitAsync(renewal, deadline, cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case null:
                    return new Decision(null, BudgetRefusal.Undecided, null);
                case RenewalOutcome.Granted:
                    continue;
                case RenewalOutcome.Stopped:
                    return new Decision(null, BudgetRefusal.Stopped, null);
                case RenewalOutcome.NoBudget:
                    return new Decision(null, BudgetRefusal.None, null);
                case RenewalOutcome.TimedOut:
                    return new Decision(null, BudgetRefusal.Undecided, null);
            }

            break;
        }

        return await ReserveAsync(scope, requestId, estimateUsd, maxCostUsd, deadline, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exact mode: this request's maximum cost is reserved at the budget, in the budget's order.</summary>
    private async Task<Decision> ReserveAsync(BudgetScope scope, string requestId, decimal estimateUsd, decimal? maxCostUsd, long deadline, CancellationToken cancellationToken)
    {
        var left = Remaining(deadline);
        // grouped: near a limit every request reserves here, and concurrent reservations travel together
        var reply = await _entities.AskGroupedAsync(scope.ToString(), new BudgetCommand
        {
            Op = BudgetOp.Reserve,
            RequestId = requestId,
            AmountUsd = maxCostUsd ?? estimateUsd,
            MaxCostUsd = maxCostUsd,
            Ttl = TimeSpan.FromSeconds(_options.ReservationSeconds),
            // a reservation that reaches the budget after this instance stopped waiting is refused there
            DecideBy = _time.GetUtcNow() + left,
        }, left, late =>
        {
            // granted after this request stopped waiting: give it back
            if (late.Admitted) Owe(scope, requestId, 0m);
        }).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (reply is null)
        {
            // it may still be granted before its decide-by time: release it so it does not hold headroom until it expires
            Owe(scope, requestId, 0m);
            return new Decision(null, BudgetRefusal.Undecided, null);
        }

        if (!reply.Exists) return new Decision(null, BudgetRefusal.None, null);
        return reply.Admitted ? new Decision(new BudgetHold(scope, null), BudgetRefusal.None, null) : new Decision(null, reply.Refusal, reply.Snapshot);
    }

    private TimeSpan Remaining(long deadline) => TimeSpan.FromSeconds(Math.Max(0, (deadline - _time.GetTimestamp()) / (double)_time.TimestampFrequency));

    private async Task<RenewalOutcome?> WaitAsync(Task<RenewalOutcome> renewal, long deadline, CancellationToken cancellationToken)
    {
        var (completed, outcome) = await Deadline.WaitAsync(renewal, Remaining(deadline), _time, cancellationToken).ConfigureAwait(false);
        return completed ? outcome : null;
    }

    /// <summary>Fetches the next lease in the background once the current one runs low, so requests never wait for one.</summary>
    private void RenewAheadLocked(BudgetScope scope, Slot slot, BudgetLeaseLedger ledger, decimal requestMaxUsd)
    {
        if (slot.Renewal is not null || slot.ExactUntil > _time.GetTimestamp()) return;
        var lowWater = ledger.Grant.AmountUsd * (decimal)_options.RenewWhenLeft;
        if (ledger.ShouldRenew(_time.GetUtcNow(), Math.Max(lowWater, requestMaxUsd), TimeSpan.FromSeconds(Math.Max(_options.RefreshSeconds, 5))))
            StartRenewalLocked(scope, slot, requestMaxUsd);
    }

    /// <summary>
    /// How much a fresh instance may admit before the budget's first answer: nothing unless the directory, read within the
    /// refresh interval, shows the budget granting leases; then <see cref="BudgetGateOptions.LeaseRequests"/> times this
    /// request's maximum cost, at most <see cref="BudgetGateOptions.ProvisionalShare"/> of what the budget had left.
    /// </summary>
    private decimal ProvisionalAmount(BudgetState known, BudgetDirectory directory, decimal requestMaxUsd)
    {
        if (_options.ProvisionalShare <= 0 || Seconds(directory.ReadStarted) >= _options.RefreshSeconds) return 0m;
        var snapshot = BudgetMachine.GetState(known, _time.GetUtcNow());
        if (!snapshot.LeasesAvailable || snapshot.Mode != BudgetMode.Strict) return snapshot.LeasesAvailable ? requestMaxUsd * Math.Max(1, _options.LeaseRequests) : 0m;
        var amount = Math.Min(requestMaxUsd * Math.Max(1, _options.LeaseRequests), decimal.Round(snapshot.RemainingUsd * (decimal)_options.ProvisionalShare, 6, MidpointRounding.ToZero));
        return amount >= requestMaxUsd ? amount : 0m;
    }

    private BudgetLeaseGrant ProvisionalGrant(BudgetScope scope, BudgetState known, decimal amount)
    {
        var now = _time.GetUtcNow();
        var ttl = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var policy = known.Definition.Leases;
        return new BudgetLeaseGrant(scope, InstanceId, $"{InstanceId}/{Guid.NewGuid().ToString("N")[..12]}", amount, now, now + ttl, now + ttl - policy.MaxRequestDuration,
            policy.MaxRequestCostUsd);
    }

    private Task<RenewalOutcome> StartRenewalLocked(BudgetScope scope, Slot slot, decimal requestMaxUsd)
    {
        var task = RenewAsync(scope, slot, slot.Ledger, requestMaxUsd);
        if (!task.IsCompleted) slot.Renewal = task;
        return task;
    }

    private async Task<RenewalOutcome> RenewAsync(BudgetScope scope, Slot slot, BudgetLeaseLedger? previous, decimal requestMaxUsd)
    {
        await Task.Yield();
        // a provisional ledger is asked for under its own id, with what it may already have admitted committed
        var provisional = previous is { IsProvisional: true } ? previous : null;
        try
        {
            var leaseId = provisional?.Grant.LeaseId ?? $"{InstanceId}/{Guid.NewGuid().ToString("N")[..12]}";
            var timeout = TimeSpan.FromSeconds(_options.RenewalTimeoutSeconds);
            var reply = await _entities.AskAsync(scope.ToString(), new BudgetCommand
            {
                Op = BudgetOp.Lease,
                InstanceId = InstanceId,
                LeaseId = leaseId,
                AmountUsd = provisional?.Grant.AmountUsd ?? LeaseAmount(previous, requestMaxUsd),
                CommittedUsd = provisional?.Grant.AmountUsd ?? 0m,
                Ttl = TimeSpan.FromSeconds(_options.LeaseSeconds),
                DecideBy = _time.GetUtcNow() + timeout,
            }, timeout, _stopping.Token).ConfigureAwait(false);
            lock (slot.Gate)
            {
                if (reply is null)
                {
                    // granted later, it would sit unused until it expires: returning it now closes it whether or not it exists
                    // yet (what a provisional ledger spent is reported under the same id when it is returned, and counted)
                    if (provisional is not null && ReferenceEquals(slot.Ledger, provisional)) RetireLocked(slot);
                    else Send(scope, new BudgetCommand { Op = BudgetOp.ReturnLease, InstanceId = InstanceId, LeaseId = leaseId, CumulativeSpentUsd = 0m });
                    return RenewalOutcome.TimedOut;
                }

                if (!reply.Exists)
                {
                    if (provisional is not null && ReferenceEquals(slot.Ledger, provisional)) RetireLocked(slot);
                    return RenewalOutcome.NoBudget;
                }
                if (reply.Grant is { } grant && provisional is not null)
                {
                    provisional.Confirm(grant);
                    slot.ExactUntil = 0;
                    return RenewalOutcome.Granted;
                }

                if (reply.Grant is { } renewed)
                {
                    if (slot.Ledger is not null) RetireLocked(slot);
                    slot.Ledger = new BudgetLeaseLedger(renewed);
                    slot.LedgerInstalledAt = _time.GetTimestamp();
                    slot.LastReported = 0m;
                    slot.ExactUntil = 0;
                    return RenewalOutcome.Granted;
                }

                if (provisional is not null && ReferenceEquals(slot.Ledger, provisional)) RetireLocked(slot);
                if (reply.Refusal == BudgetRefusal.Stopped)
                {
                    if (slot.Ledger is not null) RetireLocked(slot);
                    return RenewalOutcome.Stopped;
                }

                slot.ExactUntil = _time.GetTimestamp() + (long)(_options.ExactModeRecheckSeconds * _time.TimestampFrequency);
                return RenewalOutcome.ExactMode;
            }
        }
        finally
        {
            lock (slot.Gate) slot.Renewal = null;
        }
    }

    /// <summary>
    /// What to ask for: <see cref="BudgetGateOptions.LeaseRequests"/> times this request's maximum cost, or — when the
    /// previous lease showed this instance spending faster — <see cref="BudgetGateOptions.LeaseTargetSeconds"/> of that
    /// rate. The budget grants at most its lease policy's share of what is left, so near the limit leases stay small.
    /// </summary>
    private decimal LeaseAmount(BudgetLeaseLedger? previous, decimal requestMaxUsd)
    {
        var floor = Math.Max(requestMaxUsd, 0.000001m) * Math.Max(1, _options.LeaseRequests);
        if (previous is null || _options.LeaseTargetSeconds <= 0) return floor;
        var seconds = (decimal)Math.Max(1, (_time.GetUtcNow() - previous.Grant.GrantedAt).TotalSeconds);
        var used = previous.GetSnapshot();
        var rate = (used.SpentUsd + used.ExposureUsd) / seconds;
        return Math.Max(floor, decimal.Round(rate * (decimal)_options.LeaseTargetSeconds, 6, MidpointRounding.AwayFromZero));
    }

    private void RetireLocked(Slot slot)
    {
        if (slot.Ledger is not { } ledger) return;
        ledger.Retire();
        _retired.Enqueue(ledger);
        slot.Ledger = null;
    }

    /// <summary>
    /// Settles a request's actual cost on every budget it was admitted by (0 for a request that cost nothing): locally for
    /// a lease (reported on the timer), by a signal for a reservation. A signal that cannot be sent is kept and sent again.
    /// </summary>
    public Task SettleAsync(string requestId, BudgetAdmission admission, decimal actualUsd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admission);
        foreach (var hold in admission.Holds)
        {
            if (hold.Ledger is { } ledger) ledger.Settle(requestId, actualUsd);
            else Owe(hold.Scope, requestId, actualUsd);
        }

        return Task.CompletedTask;
    }

    private Task ReleaseAsync(string requestId, ImmutableArray<BudgetHold> holds)
    {
        foreach (var hold in holds)
        {
            if (hold.Ledger is { } ledger) ledger.Release(requestId);
            else Owe(hold.Scope, requestId, 0m);
        }

        return Task.CompletedTask;
    }

    /// <summary>Drops a reservation at the budget, counting what its request cost (0 for a release).</summary>
    private void Owe(BudgetScope scope, string requestId, decimal costUsd)
    {
        var slot = _slots.GetOrAdd(scope, _ => new Slot());
        ExactLedger exact;
        lock (slot.Gate) exact = slot.Exact ??= new ExactLedger($"{InstanceId}/x{Guid.NewGuid().ToString("N")[..8]}");
        lock (exact.Gate)
        {
            exact.Cumulative += costUsd;
            exact.Drop.Add(requestId);
        }

        EnsurePump();
        var flight = ReportExactAsync(scope, exact, CancellationToken.None);
        if (!flight.IsCompleted) exact.Flight = flight;
    }

    /// <summary>Sends the exact ledger's report unless one is in flight (then the next one carries this too).</summary>
    private async Task ReportExactAsync(BudgetScope scope, ExactLedger exact, CancellationToken cancellationToken)
    {
        lock (exact.Gate)
        {
            if (exact.Sending)
            {
                exact.Dirty = true;
                return;
            }

            exact.Sending = true;
        }

        try
        {
            while (true)
            {
                decimal cumulative;
                string[] drop;
                lock (exact.Gate)
                {
                    exact.Dirty = false;
                    if (!exact.Pending) return;
                    cumulative = exact.Cumulative;
                    drop = [.. exact.Drop];
                }

                await _entities.SignalGroupedAsync(scope.ToString(), new BudgetCommand
                {
                    Op = BudgetOp.SettleReservations, InstanceId = InstanceId, LeaseId = exact.Id, CumulativeSpentUsd = cumulative, SettledRequestIds = [.. drop],
                }).ConfigureAwait(false);
                lock (exact.Gate)
                {
                    exact.Reported = Math.Max(exact.Reported, cumulative);
                    foreach (var id in drop) exact.Drop.Remove(id);
                    if (!exact.Dirty && !exact.Pending) return;
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            // unreachable budget: the report goes out again from the timer
        }
        finally
        {
            lock (exact.Gate) exact.Sending = false;
        }
    }

    /// <summary>Sends a command in the background; one that cannot be sent is kept for the next report.</summary>
    private void Send(BudgetScope scope, BudgetCommand command)
    {
        EnsurePump();
        _ = SendNowAsync(scope, command);
    }

    private async Task SendNowAsync(BudgetScope scope, BudgetCommand command)
    {
        try
        {
            await _entities.SignalGroupedAsync(scope.ToString(), command).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _unsent.Enqueue((scope, command));
        }
    }

    /// <summary>
    /// Reports what this instance has spent under its leases (cumulative, so a repeated report counts once; only leases
    /// whose spend changed), returns retired leases once their requests have settled, and sends again what could not be
    /// sent. Runs every <see cref="BudgetGateOptions.ReportSeconds"/> and at shutdown.
    /// </summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        await _reportGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var count = _unsent.Count;
            for (var i = 0; i < count && _unsent.TryDequeue(out var unsent); i++)
            {
                try
                {
                    await _entities.SignalAsync(unsent.Scope.ToString(), unsent.Command, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    _unsent.Enqueue(unsent);
                    throw;
                }
            }

            foreach (var (scope, slot) in _slots)
            {
                if (slot.Exact is { } exact)
                {
                    // a report in flight first, then whatever it did not carry
                    await exact.Flight.WaitAsync(cancellationToken).ConfigureAwait(false);
                    bool pending;
                    lock (exact.Gate) pending = exact.Pending && !exact.Sending;
                    if (pending) await ReportExactAsync(scope, exact, cancellationToken).ConfigureAwait(false);
                }

                BudgetLeaseReport report;
                lock (slot.Gate)
                {
                    if (slot.Ledger is not { } ledger) continue;
                    report = ledger.TakeReport();
                    if (report.CumulativeSpentUsd == slot.LastReported) continue;
                }

                // Only the cumulative spend is sent, not the ids of the requests settled under the lease: a request held
                // by a lease is settled by this ledger alone (which counts each id once), never at the budget, so the
                // budget has nothing to de-duplicate — and keeping every id would grow its state with traffic.
                await _entities.SignalAsync(scope.ToString(), new BudgetCommand
                {
                    Op = BudgetOp.SettleLease, InstanceId = report.InstanceId, LeaseId = report.LeaseId, CumulativeSpentUsd = report.CumulativeSpentUsd,
                }, cancellationToken).ConfigureAwait(false);
                lock (slot.Gate)
                {
                    if (slot.Ledger?.Grant.LeaseId == report.LeaseId) slot.LastReported = Math.Max(slot.LastReported, report.CumulativeSpentUsd);
                }
            }

            // A retired lease stays queued until its return has been sent: if the budget cannot be reached its final
            // spend is sent again at the next report (cumulative, so a return that did arrive counts nothing twice).
            var keep = new List<BudgetLeaseLedger>();
            try
            {
                while (_retired.TryDequeue(out var retired))
                {
                    keep.Add(retired);
                    // in flight first: a retired ledger admits nothing, so once none is in flight the report below is final
                    var done = retired.GetSnapshot().InFlight == 0;
                    var report = retired.TakeReport();
                    await _entities.SignalAsync(retired.Grant.Scope.ToString(), new BudgetCommand
                    {
                        Op = done ? BudgetOp.ReturnLease : BudgetOp.SettleLease, InstanceId = report.InstanceId, LeaseId = report.LeaseId,
                        CumulativeSpentUsd = report.CumulativeSpentUsd,
                    }, cancellationToken).ConfigureAwait(false);
                    if (done) keep.Remove(retired);
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

    private void Touch()
    {
        Interlocked.Exchange(ref _lastUsed, _time.GetTimestamp());
        EnsurePump();
    }

    private void EnsurePump()
    {
        if (_pump is { IsCompleted: false } || _stopping.IsCancellationRequested) return;
        lock (_pumpGate)
        {
            if (_pump is { IsCompleted: false }) return;
            _pump = Task.Run(RunPumpAsync);
        }
    }

    /// <summary>The gate's timer: reports every few seconds, refreshes the directory (delivering alerts) while the gate is in use.</summary>
    private async Task RunPumpAsync()
    {
        var idleAfter = Math.Max(60, 6 * _options.RefreshSeconds);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.05, Math.Min(_options.ReportSeconds, _options.RefreshSeconds))), _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await ReportAsync(_stopping.Token).ConfigureAwait(false);
                if (_directory is { } d && Seconds(d.ReadStarted) >= _options.RefreshSeconds && Seconds(Interlocked.Read(ref _lastUsed)) < idleAfter)
                    await RefreshAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // unreachable budgets: what was not sent is kept and sent at the next tick
            }

            if (Seconds(Interlocked.Read(ref _lastUsed)) >= idleAfter && _slots.Values.All(s => s.Ledger is null && s.Exact is not { Pending: true }) && _retired.IsEmpty && _unsent.IsEmpty)
                return;
        }
    }

    /// <summary>
    /// At shutdown: stops the timer, retires every lease, and reports and returns them with every reservation settled
    /// here — what was spent is never left unreported. With a spill (the Functions app) the reports go straight to it:
    /// the host stops its Durable endpoint before it stops the worker, and gives the worker only a moment, so a signal
    /// would only wait to fail; the spill's queue trigger applies them to the budgets moments later. Without one they are
    /// sent as a normal report.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var slot in _slots.Values)
        {
            lock (slot.Gate)
            {
                if (slot.Ledger is not null) RetireLocked(slot);
            }
        }

        if (_spill is null) await ReportAsync(cancellationToken).ConfigureAwait(false);
        else await _spill.SpillAsync(PendingReports(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every report still owed: retired leases (returned), exact ledgers, and commands that could not be sent.</summary>
    private List<SpilledBudgetCommand> PendingReports()
    {
        var pending = new List<SpilledBudgetCommand>();
        while (_unsent.TryDequeue(out var unsent)) pending.Add(new(unsent.Scope.ToString(), unsent.Command));
        while (_retired.TryDequeue(out var retired))
        {
            var report = retired.TakeReport();
            pending.Add(new(retired.Grant.Scope.ToString(), new BudgetCommand
            {
                Op = BudgetOp.ReturnLease, InstanceId = report.InstanceId, LeaseId = report.LeaseId, CumulativeSpentUsd = report.CumulativeSpentUsd,
            }));
        }

        foreach (var (scope, slot) in _slots)
        {
            if (slot.Exact is not { } exact) continue;
            lock (exact.Gate)
            {
                if (!exact.Pending) continue;
                pending.Add(new(scope.ToString(), new BudgetCommand
                {
                    Op = BudgetOp.SettleReservations, InstanceId = InstanceId, LeaseId = exact.Id, CumulativeSpentUsd = exact.Cumulative, SettledRequestIds = [.. exact.Drop],
                }));
            }
        }

        return pending;
    }

    /// <summary>Applies reports another instance spilled (each is cumulative or idempotent, so a repeat counts once).</summary>
    public async Task ApplySpilledAsync(IReadOnlyList<SpilledBudgetCommand> commands, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commands);
        foreach (var command in commands) await _entities.SignalAsync(command.Scope, command.Command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs an admin command on one budget and waits for its answer.</summary>
    public async Task<BudgetCommandResult> CommandAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
    {
        var reply = await _entities.AskAsync(scope.ToString(), command, TimeSpan.FromSeconds(_options.AdminTimeoutSeconds), cancellationToken).ConfigureAwait(false)
            ?? throw new TimeoutException($"The budget '{scope}' did not answer within {_options.AdminTimeoutSeconds} s.");
        Invalidate();
        return reply;
    }

    /// <summary>One budget as it stands now (one read), or null when none is configured.</summary>
    public async Task<BudgetSnapshot?> GetAsync(BudgetScope scope, CancellationToken cancellationToken)
    {
        var (state, _) = await _entities.ReadAsync(scope.ToString(), cancellationToken).ConfigureAwait(false);
        return state is null ? null : BudgetMachine.GetState(state, _time.GetUtcNow());
    }

    /// <summary>Every configured budget as it stands now.</summary>
    public async Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var list = new List<BudgetSnapshot>();
        await foreach (var (state, _) in _entities.ListAsync(cancellationToken).ConfigureAwait(false)) list.Add(BudgetMachine.GetState(state, now));
        return list;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _reportGate.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_pump is { } pump)
        {
            try
            {
                await pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _reportGate.Dispose();
        _stopping.Dispose();
    }
}
