using System.Collections.Immutable;

namespace Gateway.Core.Budgets;

/// <summary>Whether a budget refuses requests at its limit.</summary>
public enum BudgetMode
{
    /// <summary>Refuse any reservation or lease that would make spent + reserved exceed the limit.</summary>
    Strict,
    /// <summary>Never refuse on the limit (emergency stop still refuses); thresholds still alert.</summary>
    AlertOnly,
}

/// <summary>When a budget hands out leases (blocks of headroom an instance spends locally) and how big they are.</summary>
public sealed record BudgetLeasePolicy
{
    /// <summary>Whether leases are granted at all; without leases every request reserves individually.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// The largest cost one request can have (USD): the bound on how far a request without <c>max_tokens</c> can
    /// overrun its estimate, and the unit of <see cref="ExactModeRequestMultiple"/>.
    /// </summary>
    public decimal MaxRequestCostUsd { get; init; } = 1m;

    /// <summary>No lease while the headroom is below this many <see cref="MaxRequestCostUsd"/>.</summary>
    public int ExactModeRequestMultiple { get; init; } = 20;

    /// <summary>No lease while the headroom is below this fraction of the limit.</summary>
    public decimal ExactModeFraction { get; init; } = 0.1m;

    /// <summary>A lease is at most this fraction of the headroom at the time it is granted.</summary>
    public decimal MaxLeaseFraction { get; init; } = 0.25m;

    /// <summary>
    /// The longest a request may take from admission to settlement. A ledger stops admitting this long before its lease
    /// expires, so requests admitted under a lease settle while the budget still counts the lease.
    /// </summary>
    public TimeSpan MaxRequestDuration { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>The configuration of one budget.</summary>
public sealed record BudgetDefinition
{
    public required BudgetScope Scope { get; init; }

    /// <summary>The limit per period in USD (0 = nothing may be spent).</summary>
    public required decimal LimitUsd { get; init; }

    public BudgetPeriodKind Period { get; init; } = BudgetPeriodKind.Monthly;

    /// <summary>The IANA time zone whose calendar the period follows.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>The first day of a weekly period.</summary>
    public DayOfWeek WeekStartsOn { get; init; } = DayOfWeek.Monday;

    /// <summary>Soft thresholds as fractions of the limit; each raises one alert per period when spent reaches it.</summary>
    public ImmutableArray<decimal> AlertThresholds { get; init; } = [0.5m, 0.8m, 1.0m];

    public BudgetMode Mode { get; init; } = BudgetMode.Strict;

    public BudgetLeasePolicy Leases { get; init; } = new();

    /// <summary>
    /// How long a settled request id (and a closed lease) is remembered so that a repeated settle counts once. It must
    /// exceed the longest redelivery delay of settle messages.
    /// </summary>
    public TimeSpan SettledRetention { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Throws <see cref="ArgumentException"/> when the definition cannot be used.</summary>
    public void Validate()
    {
        var errors = Errors();
        if (errors.Count > 0) throw new ArgumentException($"invalid budget {Scope}: {string.Join("; ", errors)}");
    }

    /// <summary>Every problem with the definition (empty when usable).</summary>
    public IReadOnlyList<string> Errors()
    {
        var errors = new List<string>();
        if (!Scope.IsValid) errors.Add("scope is not valid");
        if (LimitUsd < 0) errors.Add("limit must not be negative");
        if (!Enum.IsDefined(Period)) errors.Add("unknown period");
        if (!Enum.IsDefined(Mode)) errors.Add("unknown mode");
        if (AlertThresholds.IsDefault) errors.Add("thresholds missing");
        else if (AlertThresholds.Any(t => t <= 0 || t > 10)) errors.Add("thresholds must be in (0, 10]");
        if (SettledRetention <= TimeSpan.Zero) errors.Add("settled retention must be positive");
        try
        {
            BudgetPeriods.ResolveTimeZone(TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            errors.Add($"unknown time zone '{TimeZone}'");
        }

        var leases = Leases;
        if (leases is null) errors.Add("lease policy missing");
        else
        {
            if (leases.MaxRequestCostUsd < 0) errors.Add("max request cost must not be negative");
            if (leases.ExactModeRequestMultiple < 0) errors.Add("exact-mode request multiple must not be negative");
            if (leases.ExactModeFraction is < 0 or > 1) errors.Add("exact-mode fraction must be in [0, 1]");
            if (leases.MaxLeaseFraction is <= 0 or > 1) errors.Add("lease fraction must be in (0, 1]");
            if (leases.MaxRequestDuration < TimeSpan.Zero) errors.Add("max request duration must not be negative");
        }

        return errors;
    }
}
