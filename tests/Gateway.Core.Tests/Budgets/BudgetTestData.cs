using System.Globalization;
using Gateway.Core.Budgets;

namespace Gateway.Core.Tests.Budgets;

internal static class BudgetTestData
{
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    public static DateTimeOffset T(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    public static BudgetDefinition Definition(decimal limit, BudgetPeriodKind period = BudgetPeriodKind.Monthly, string zone = "UTC", BudgetLeasePolicy? leases = null) => new()
    {
        Scope = BudgetScope.ForTeam("payments"),
        LimitUsd = limit,
        Period = period,
        TimeZone = zone,
        Leases = leases ?? new BudgetLeasePolicy { MaxRequestCostUsd = 1m, ExactModeRequestMultiple = 5, ExactModeFraction = 0.1m, MaxLeaseFraction = 0.25m, MaxRequestDuration = TimeSpan.FromMinutes(2) },
    };

    public static BudgetState New(decimal limit, DateTimeOffset now, BudgetPeriodKind period = BudgetPeriodKind.Monthly, string zone = "UTC", BudgetLeasePolicy? leases = null) =>
        BudgetMachine.Configure(null, Definition(limit, period, zone, leases), now).State;
}
