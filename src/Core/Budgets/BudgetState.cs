using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Gateway.Core.Budgets;

/// <summary>
/// One request's hold on a budget. <see cref="AmountUsd"/> is what is reported as reserved; <see cref="ExposureUsd"/>
/// is what admission control counts (the request's maximum cost, or its estimate for the single "tail" request allowed
/// to overrun, see <see cref="BudgetMachine"/>).
/// </summary>
public sealed record BudgetReservation(decimal AmountUsd, decimal ExposureUsd, bool Tail, DateTimeOffset ExpiresAt);

/// <summary>A block of headroom granted to an instance; <see cref="ReportedUsd"/> is the cumulative spend it has reported.</summary>
public sealed record BudgetLease(string InstanceId, decimal AmountUsd, decimal ReportedUsd, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>The part of the lease not yet reported as spent: still counted as reserved.</summary>
    [JsonIgnore]
    public decimal OutstandingUsd => Math.Max(0m, AmountUsd - ReportedUsd);
}

/// <summary>A returned, expired or revoked lease, remembered so that late or repeated reports count exactly once.</summary>
public sealed record BudgetClosedLease(string InstanceId, decimal ReportedUsd, DateTimeOffset ForgetAt);

/// <summary>
/// The persisted state of one budget (the durable entity's state). Immutable: every <see cref="BudgetMachine"/>
/// operation returns a new state. Serialise it with <see cref="BudgetStateCodec"/>, which also upgrades older versions.
/// </summary>
public sealed record BudgetState
{
    /// <summary>The version this code writes. Version 1 was the pre-lease layout (see <see cref="BudgetStateCodec"/>).</summary>
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required BudgetDefinition Definition { get; init; }

    /// <summary>When the budget was first configured: the start of a lifetime period.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    /// <summary>Exclusive end of the period; <see cref="DateTimeOffset.MaxValue"/> for lifetime budgets.</summary>
    public DateTimeOffset PeriodEnd { get; init; }

    /// <summary>Actual cost settled in the current period.</summary>
    public decimal SpentUsd { get; init; }

    /// <summary>Thresholds already alerted in the current period, ascending.</summary>
    public ImmutableArray<decimal> ThresholdsRaised { get; init; } = [];

    public bool Stopped { get; init; }

    public string? StopReason { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>Individual reservations by request id.</summary>
    public ImmutableDictionary<string, BudgetReservation> Reservations { get; init; } = ImmutableDictionary<string, BudgetReservation>.Empty;

    /// <summary>Active leases by lease id.</summary>
    public ImmutableDictionary<string, BudgetLease> Leases { get; init; } = ImmutableDictionary<string, BudgetLease>.Empty;

    /// <summary>Closed leases by lease id, until their <see cref="BudgetClosedLease.ForgetAt"/>.</summary>
    public ImmutableDictionary<string, BudgetClosedLease> ClosedLeases { get; init; } = ImmutableDictionary<string, BudgetClosedLease>.Empty;

    /// <summary>Settled request ids and when they may be forgotten.</summary>
    public ImmutableDictionary<string, DateTimeOffset> SettledRequests { get; init; } = ImmutableDictionary<string, DateTimeOffset>.Empty;

    /// <summary>The number of leases ever granted: makes lease ids unique.</summary>
    public long LeaseSequence { get; init; }

    /// <summary>Reported reservations: individual reservations plus the outstanding part of every lease.</summary>
    [JsonIgnore]
    public decimal ReservedUsd => Reservations.Values.Sum(r => r.AmountUsd) + Leases.Values.Sum(l => l.OutstandingUsd);

    /// <summary>What admission control counts as held: reservation exposures plus outstanding leases (≥ <see cref="ReservedUsd"/>).</summary>
    [JsonIgnore]
    public decimal ExposureUsd => Reservations.Values.Sum(r => r.ExposureUsd) + Leases.Values.Sum(l => l.OutstandingUsd);

    /// <summary>Limit minus spent minus exposure; negative after an overrun or a lowered limit.</summary>
    [JsonIgnore]
    public decimal HeadroomUsd => Definition.LimitUsd - SpentUsd - ExposureUsd;

    [JsonIgnore]
    public bool TailOutstanding => Reservations.Values.Any(r => r.Tail);
}

/// <summary>What <see cref="BudgetMachine.GetState"/> reports.</summary>
public sealed record BudgetSnapshot(
    BudgetScope Scope,
    decimal LimitUsd,
    decimal SpentUsd,
    decimal ReservedUsd,
    decimal RemainingUsd,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    bool Stopped,
    string? StopReason,
    ImmutableArray<decimal> ThresholdsRaised,
    BudgetMode Mode,
    int ActiveLeases,
    int ActiveReservations,
    bool LeasesAvailable);
