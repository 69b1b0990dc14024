using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

public sealed class BudgetPeriodTests
{
    private static readonly TimeZoneInfo Berlin = BudgetPeriods.ResolveTimeZone("Europe/Berlin");

    private static (DateTimeOffset, DateTimeOffset) Window(BudgetPeriodKind kind, TimeZoneInfo zone, string now) =>
        BudgetPeriods.Containing(kind, zone, DayOfWeek.Monday, T(now), T("2020-01-01T00:00:00Z"));

    [Fact]
    public void Berlin_march_starts_in_winter_time_and_ends_in_summer_time()
    {
        Assert.Equal((T("2026-02-28T23:00:00Z"), T("2026-03-31T22:00:00Z")), Window(BudgetPeriodKind.Monthly, Berlin, "2026-03-15T12:00:00Z"));
        Assert.Equal((T("2026-02-28T23:00:00Z"), T("2026-03-31T22:00:00Z")), Window(BudgetPeriodKind.Monthly, Berlin, "2026-03-31T21:59:59.9999999Z"));
        Assert.Equal((T("2026-03-31T22:00:00Z"), T("2026-04-30T22:00:00Z")), Window(BudgetPeriodKind.Monthly, Berlin, "2026-03-31T22:00:00Z"));
    }

    [Fact]
    public void Berlin_october_is_one_hour_longer_than_its_days()
    {
        var (start, end) = Window(BudgetPeriodKind.Monthly, Berlin, "2026-10-20T00:00:00Z");
        Assert.Equal(T("2026-09-30T22:00:00Z"), start);
        Assert.Equal(T("2026-10-31T23:00:00Z"), end);
        Assert.Equal(TimeSpan.FromHours((31 * 24) + 1), end - start);
    }

    [Fact]
    public void Weeks_start_on_monday_local_midnight_and_the_dst_week_is_167_hours()
    {
        // Thursday 26 March 2026; summer time starts Sunday 29 March.
        var (start, end) = Window(BudgetPeriodKind.Weekly, Berlin, "2026-03-26T10:00:00Z");
        Assert.Equal(T("2026-03-22T23:00:00Z"), start);
        Assert.Equal(T("2026-03-29T22:00:00Z"), end);
        Assert.Equal(TimeSpan.FromHours(167), end - start);
        Assert.Equal(DayOfWeek.Monday, TimeZoneInfo.ConvertTime(start, Berlin).DayOfWeek);
        // Sunday 23:30 local is still the same week; Monday 00:00 local is the next.
        Assert.Equal(start, Window(BudgetPeriodKind.Weekly, Berlin, "2026-03-29T21:30:00Z").Item1);
        Assert.Equal(end, Window(BudgetPeriodKind.Weekly, Berlin, "2026-03-29T22:00:00Z").Item1);
    }

    [Fact]
    public void A_configured_week_start_is_honoured()
    {
        var (start, end) = BudgetPeriods.Containing(BudgetPeriodKind.Weekly, TimeZoneInfo.Utc, DayOfWeek.Sunday, T("2026-03-26T10:00:00Z"), T("2020-01-01T00:00:00Z"));
        Assert.Equal(T("2026-03-22T00:00:00Z"), start);
        Assert.Equal(T("2026-03-29T00:00:00Z"), end);
    }

    [Fact]
    public void The_dst_day_is_23_hours_long()
    {
        var (start, end) = Window(BudgetPeriodKind.Daily, Berlin, "2026-03-29T12:00:00Z");
        Assert.Equal(T("2026-03-28T23:00:00Z"), start);
        Assert.Equal(T("2026-03-29T22:00:00Z"), end);
    }

    [Fact]
    public void A_midnight_swallowed_by_a_dst_gap_starts_the_day_at_the_transition()
    {
        // America/Santiago jumped from 00:00 to 01:00 on 2022-09-11.
        var santiago = BudgetPeriods.ResolveTimeZone("America/Santiago");
        var start = BudgetPeriods.StartOfLocalDay(new DateTime(2022, 9, 11), santiago);
        Assert.Equal(T("2022-09-11T04:00:00Z"), start);
        Assert.Equal(new DateTime(2022, 9, 11, 1, 0, 0), TimeZoneInfo.ConvertTime(start, santiago).DateTime);
    }

    [Fact]
    public void Lifetime_never_rolls_over()
    {
        var created = T("2026-01-15T08:00:00Z");
        var state = New(10m, created, BudgetPeriodKind.Lifetime);
        Assert.Equal(created, state.PeriodStart);
        Assert.Equal(DateTimeOffset.MaxValue, state.PeriodEnd);
        state = BudgetMachine.Settle(state, "r1", 4m, created.AddHours(1)).State;
        var later = BudgetMachine.Settle(state, "r2", 1m, T("2031-06-01T00:00:00Z"));
        Assert.False(later.PeriodRolled);
        Assert.Equal(5m, later.State.SpentUsd);
        Assert.Equal(created, later.State.PeriodStart);
    }

    [Fact]
    public void Rollover_in_berlin_resets_spent_and_thresholds_and_carries_reservations()
    {
        var state = New(10m, T("2026-03-31T20:00:00Z"), zone: "Europe/Berlin");
        state = BudgetMachine.Settle(state, "a", 6m, T("2026-03-31T21:00:00Z")).State;
        Assert.Equal([0.5m], state.ThresholdsRaised.ToArray());
        state = BudgetMachine.Reserve(state, "b", 2m, T("2026-03-31T21:58:00Z"), Ttl).State;

        var justBefore = BudgetMachine.GetState(state, T("2026-03-31T21:59:59Z"));
        Assert.Equal(6m, justBefore.SpentUsd);

        var rolled = BudgetMachine.Settle(state, "b", 1.5m, T("2026-03-31T22:00:00Z"));
        Assert.True(rolled.PeriodRolled);
        Assert.Equal(1.5m, rolled.State.SpentUsd);
        Assert.Equal(SettleKind.Settled, rolled.Result.Kind);
        Assert.Empty(rolled.State.ThresholdsRaised);
        Assert.Equal(T("2026-03-31T22:00:00Z"), rolled.State.PeriodStart);
        Assert.Equal(T("2026-04-30T22:00:00Z"), rolled.State.PeriodEnd);
    }

    [Fact]
    public void A_long_idle_budget_rolls_straight_into_the_current_period()
    {
        var state = New(10m, T("2026-01-10T00:00:00Z"), BudgetPeriodKind.Daily);
        state = BudgetMachine.Settle(state, "a", 3m, T("2026-01-10T01:00:00Z")).State;
        var snapshot = BudgetMachine.GetState(state, T("2026-02-20T05:00:00Z"));
        Assert.Equal(0m, snapshot.SpentUsd);
        Assert.Equal(T("2026-02-20T00:00:00Z"), snapshot.PeriodStart);
        Assert.Equal(T("2026-02-21T00:00:00Z"), snapshot.PeriodEnd);
        Assert.Equal(3m, state.SpentUsd);
    }
}
