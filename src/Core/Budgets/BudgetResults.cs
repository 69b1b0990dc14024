using System.Collections.Immutable;
using System.Globalization;

namespace Gateway.Core.Budgets;

/// <summary>
/// A soft threshold crossed. Raised at most once per (scope, period, threshold); <see cref="Id"/> is deterministic so a
/// sender that retries can deduplicate the webhook or queue message it derives from it.
/// </summary>
public sealed record BudgetAlert(BudgetScope Scope, decimal Threshold, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, decimal SpentUsd, decimal LimitUsd, DateTimeOffset RaisedAt)
{
    public string Id => string.Create(CultureInfo.InvariantCulture, $"{Scope}|{PeriodStart.UtcTicks}|{Threshold}");
}

/// <summary>
/// The result of one operation: the new state, the operation's own result, the alerts it raised (send each exactly
/// once), and whether the operation rolled the budget into a new period.
/// </summary>
public sealed record BudgetOutcome<T>(BudgetState State, T Result, ImmutableArray<BudgetAlert> Alerts, bool PeriodRolled);

/// <summary>Why a reservation or lease was refused.</summary>
public enum BudgetRefusal
{
    None,
    /// <summary>The scope is under emergency stop.</summary>
    Stopped,
    /// <summary>The request does not fit the limit: answer 429 <c>insufficient_quota</c> naming the scope.</summary>
    LimitReached,
    /// <summary>The request id was already settled.</summary>
    AlreadySettled,
    /// <summary>No lease: headroom is small, leases are disabled, or the mode needs none; reserve each request.</summary>
    ExactModeRequired,
    /// <summary>The command arrived after its decide-by time (its sender had stopped waiting), or names a lease already closed.</summary>
    TooLate,
    /// <summary>No answer within the request's admission window (the instance's verdict, never the budget's): 429 with Retry-After.</summary>
    Undecided,
}

public sealed record ReserveResult(bool Admitted, BudgetRefusal Refusal, decimal ReservedUsd, bool Tail, DateTimeOffset? ExpiresAt, decimal RemainingUsd)
{
    public static ReserveResult Refused(BudgetRefusal refusal, decimal remaining) => new(false, refusal, 0m, false, null, remaining);
}

public enum SettleKind
{
    /// <summary>Settled against its reservation.</summary>
    Settled,
    /// <summary>No reservation (expired, released, or never made): the cost still counts.</summary>
    SettledWithoutReservation,
    /// <summary>Already settled: nothing counted.</summary>
    Duplicate,
}

public sealed record SettleResult(SettleKind Kind, decimal CountedUsd, decimal SpentUsd);

public sealed record ReleaseResult(bool Released, decimal ReleasedUsd);

/// <summary>What an instance needs to admit requests locally (see <see cref="BudgetLeaseLedger"/>).</summary>
public sealed record BudgetLeaseGrant(
    BudgetScope Scope,
    string InstanceId,
    string LeaseId,
    decimal AmountUsd,
    DateTimeOffset GrantedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset AdmitUntil,
    decimal MaxRequestCostUsd);

public sealed record LeaseResult(bool Granted, BudgetRefusal Refusal, BudgetLeaseGrant? Grant, decimal RemainingUsd);

/// <summary>
/// The result of a lease report: what it added to spent, whether the lease is still active (false: returned, expired or
/// revoked by a stop; the instance must stop admitting against it) and what of it is still counted as reserved.
/// </summary>
public sealed record LeaseSettleResult(decimal CountedUsd, bool LeaseActive, decimal OutstandingUsd, bool Stopped);

public sealed record ExpireResult(int ReservationsExpired, int LeasesExpired, decimal FreedUsd);
