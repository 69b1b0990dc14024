using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>What can be asked of one budget (one scope). A command is one operation of <see cref="BudgetMachine"/>.</summary>
public enum BudgetOp
{
    Configure,
    Get,
    Reserve,
    Settle,
    Release,
    Lease,
    SettleLease,
    ReturnLease,
    /// <summary>An instance's exact-mode report: the cumulative cost of its reservations settled so far (under its ledger id) and the reservations to drop.</summary>
    SettleReservations,
    Reset,
    Stop,
    Resume,
    Delete,
}

/// <summary>One operation on one budget, as sent to the place budgets live (a Durable Entity per scope in Azure).</summary>
public sealed record BudgetCommand
{
    public required BudgetOp Op { get; init; }
    public BudgetDefinition? Definition { get; init; }
    public string? RequestId { get; init; }
    public decimal AmountUsd { get; init; }
    public decimal? MaxCostUsd { get; init; }
    public TimeSpan Ttl { get; init; }
    public string? InstanceId { get; init; }
    public string? LeaseId { get; init; }
    public decimal CumulativeSpentUsd { get; init; }
    public ImmutableArray<string> SettledRequestIds { get; init; } = [];
    public string? Reason { get; init; }
    /// <summary>For a lease: what the instance has already admitted against it provisionally (granted at least this).</summary>
    public decimal CommittedUsd { get; init; }
    /// <summary>A reservation or lease that reaches the budget after this is refused (<see cref="BudgetRefusal.TooLate"/>): its sender has stopped waiting.</summary>
    public DateTimeOffset? DecideBy { get; init; }
}

/// <summary>The answer to a <see cref="BudgetCommand"/>: flat and serialisable, with the alerts the operation raised.</summary>
public sealed record BudgetCommandResult
{
    /// <summary>False when the scope has no budget (nothing to check; the request is not limited by it).</summary>
    public bool Exists { get; init; }
    public bool Admitted { get; init; }
    public BudgetRefusal Refusal { get; init; }
    public decimal RemainingUsd { get; init; }
    public decimal CountedUsd { get; init; }
    public BudgetLeaseGrant? Grant { get; init; }
    public BudgetSnapshot? Snapshot { get; init; }
    public bool Stopped { get; init; }
    public ImmutableArray<BudgetAlert> Alerts { get; init; } = [];

    public static BudgetCommandResult Missing { get; } = new() { Exists = false, Admitted = true };
}

/// <summary>Applies a command to a budget's state: the whole behaviour of a budget entity, pure.</summary>
public static class BudgetCommands
{
    public static (BudgetState? State, BudgetCommandResult Result) Apply(BudgetState? state, BudgetCommand command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Op == BudgetOp.Configure)
        {
            var definition = command.Definition ?? throw new ArgumentException("Configure needs a definition.", nameof(command));
            var configured = state is null ? BudgetMachine.Configure(null, definition, now) : BudgetMachine.Reconfigure(state, definition, now);
            return (configured.State, Snapshot(configured.State, configured.Alerts, now));
        }

        if (command.Op == BudgetOp.Delete) return (null, state is null ? BudgetCommandResult.Missing : new BudgetCommandResult { Exists = true, Admitted = true });
        if (state is null) return (null, BudgetCommandResult.Missing);

        switch (command.Op)
        {
            case BudgetOp.Get:
                var expired = BudgetMachine.Expire(state, now);
                return (expired.State, Snapshot(expired.State, expired.Alerts, now));
            case BudgetOp.Reserve or BudgetOp.Lease when command.DecideBy is { } decideBy && now > decideBy && command.CommittedUsd <= 0m:
                return (state, Result(state, [], now) with { Admitted = false, Refusal = BudgetRefusal.TooLate });
            case BudgetOp.Reserve:
                var reserve = BudgetMachine.Reserve(state, Required(command.RequestId), command.AmountUsd, now, command.Ttl, command.MaxCostUsd);
                return (reserve.State, Result(reserve.State, reserve.Alerts, now) with
                {
                    Admitted = reserve.Result.Admitted, Refusal = reserve.Result.Refusal, RemainingUsd = reserve.Result.RemainingUsd,
                });
            case BudgetOp.Settle:
                var settle = BudgetMachine.Settle(state, Required(command.RequestId), command.AmountUsd, now);
                return (settle.State, Result(settle.State, settle.Alerts, now) with { Admitted = true, CountedUsd = settle.Result.CountedUsd });
            case BudgetOp.Release:
                var release = BudgetMachine.Release(state, Required(command.RequestId), now);
                return (release.State, Result(release.State, release.Alerts, now) with { Admitted = true });
            case BudgetOp.Lease:
                var lease = BudgetMachine.Lease(state, Required(command.InstanceId), command.AmountUsd, now, command.Ttl, command.LeaseId, command.CommittedUsd);
                return (lease.State, Result(lease.State, lease.Alerts, now) with
                {
                    Admitted = lease.Result.Granted, Refusal = lease.Result.Refusal, Grant = lease.Result.Grant, RemainingUsd = lease.Result.RemainingUsd,
                });
            case BudgetOp.SettleLease or BudgetOp.ReturnLease:
                var report = command.Op == BudgetOp.SettleLease
                    ? BudgetMachine.SettleLease(state, Required(command.InstanceId), Required(command.LeaseId), command.CumulativeSpentUsd, command.SettledRequestIds, now)
                    : BudgetMachine.ReturnLease(state, Required(command.InstanceId), Required(command.LeaseId), command.CumulativeSpentUsd, command.SettledRequestIds, now);
                return (report.State, Result(report.State, report.Alerts, now) with { Admitted = report.Result.LeaseActive, CountedUsd = report.Result.CountedUsd });
            case BudgetOp.SettleReservations:
                var settled = BudgetMachine.SettleReservations(state, Required(command.InstanceId), Required(command.LeaseId), command.CumulativeSpentUsd,
                    command.SettledRequestIds, now);
                return (settled.State, Result(settled.State, settled.Alerts, now) with { Admitted = true, CountedUsd = settled.Result.CountedUsd });
            case BudgetOp.Reset:
                var reset = BudgetMachine.Reset(state, now);
                return (reset.State, Snapshot(reset.State, reset.Alerts, now));
            case BudgetOp.Stop:
                var stop = BudgetMachine.Stop(state, command.Reason ?? "emergency stop", now);
                return (stop.State, Snapshot(stop.State, stop.Alerts, now));
            case BudgetOp.Resume:
                var resume = BudgetMachine.Resume(state, now);
                return (resume.State, Snapshot(resume.State, resume.Alerts, now));
            default:
                throw new ArgumentException($"Unknown budget operation {command.Op}.", nameof(command));
        }
    }

    private static string Required(string? value) => string.IsNullOrEmpty(value) ? throw new ArgumentException("A budget command is missing an id.") : value;

    private static BudgetCommandResult Result(BudgetState state, ImmutableArray<BudgetAlert> alerts, DateTimeOffset now)
    {
        var snapshot = BudgetMachine.GetState(state, now);
        return new BudgetCommandResult { Exists = true, Snapshot = snapshot, Stopped = snapshot.Stopped, RemainingUsd = snapshot.RemainingUsd, Alerts = alerts };
    }

    private static BudgetCommandResult Snapshot(BudgetState state, ImmutableArray<BudgetAlert> alerts, DateTimeOffset now) =>
        Result(state, alerts, now) with { Admitted = true };
}
