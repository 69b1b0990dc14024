using Gateway.Core.Budgets;

namespace Gateway.Core.Analytics;

/// <summary>When each budget runs out at the current rate, and whether its period is forecast to overrun.</summary>
internal static class BudgetForecaster
{
    /// <summary>How far a lifetime budget (no period end) is projected.</summary>
    public static readonly TimeSpan LifetimeHorizon = TimeSpan.FromDays(30);

    /// <summary>Beyond this a run-out date says nothing (and would not fit a date).</summary>
    private const decimal MaxRunOutDays = 36_500m;

    public static BudgetForecast Of(BudgetPeriodSpend budget, ScopeSeries? series, DateOnly date, int windowDays)
    {
        var definition = budget.Definition;
        var scope = AnalyticsScope.Of(definition.Scope);
        var asOf = new DateTimeOffset(date.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var lifetime = definition.Period == BudgetPeriodKind.Lifetime || budget.PeriodEnd == DateTimeOffset.MaxValue;
        var horizon = lifetime ? asOf + LifetimeHorizon : budget.PeriodEnd;
        var (model, rate) = series is null ? (null, 0m) : SpendForecaster.Fit(series, date, windowDays);
        var spent = budget.SpentUsd;
        var remaining = definition.LimitUsd - spent;

        DateTimeOffset? runsOutAt = null;
        if (remaining > 0 && rate > 0)
        {
            var days = remaining / rate;
            // to the second: a rate is an estimate, and exact rates give whole seconds anyway
            var at = days <= MaxRunOutDays ? asOf.AddSeconds((double)Math.Round(days * 86_400m, MidpointRounding.AwayFromZero)) : (DateTimeOffset?)null;
            if (at is { } t && (lifetime || t <= budget.PeriodEnd)) runsOutAt = t;
        }

        var (center, half) = model?.Project((horizon - asOf).TotalDays) ?? (0, 0);
        var projected = spent + SpendForecaster.Money(center);
        decimal? lower = half is { } h ? spent + SpendForecaster.Money(Math.Max(0, center - h)) : null;
        decimal? upper = half is { } h2 ? spent + SpendForecaster.Money(center + h2) : null;
        var risk = spent > 0 && spent >= definition.LimitUsd ? BudgetRisk.Exceeded
            : projected > definition.LimitUsd ? BudgetRisk.Likely
            : upper > definition.LimitUsd ? BudgetRisk.Possible
            : BudgetRisk.None;
        return new BudgetForecast(definition.Scope.ToString(), scope.Dimension, scope.Value!, definition.LimitUsd, definition.Period, definition.TimeZone, definition.Mode,
            budget.PeriodStart, lifetime ? null : budget.PeriodEnd, horizon, spent, remaining, SpendForecaster.Money(rate),
            runsOutAt, runsOutAt is { } r ? LastDayWithHeadroom(r, definition.TimeZone) : null,
            projected, lower, upper, risk, risk != BudgetRisk.None, model?.Method ?? ForecastMethod.RunRate);
    }

    /// <summary>The local date of the instant the budget runs out; one that runs out exactly at midnight ran out on the day that ended.</summary>
    private static DateOnly LastDayWithHeadroom(DateTimeOffset runsOutAt, string timeZone)
    {
        var local = TimeZoneInfo.ConvertTime(runsOutAt.AddTicks(-1), BudgetPeriods.ResolveTimeZone(timeZone));
        return DateOnly.FromDateTime(local.DateTime);
    }
}
