namespace Gateway.Core.Budgets;

/// <summary>How often a budget starts over.</summary>
public enum BudgetPeriodKind
{
    Daily,
    Weekly,
    Monthly,
    /// <summary>Never rolls over: one period from the first configuration to <see cref="DateTimeOffset.MaxValue"/>.</summary>
    Lifetime,
}

/// <summary>
/// Calendar periods in an IANA time zone. A period starts at local midnight of its first day (the first day of the
/// month, the configured first day of the week, or every day); when that midnight does not exist (a daylight-saving gap)
/// the period starts at the first instant that does, and when it exists twice (a fall-back at midnight) at the first
/// of the two. Periods are therefore 23, 24 or 25 hours long on DST days and months are their real length.
/// </summary>
public static class BudgetPeriods
{
    /// <summary>Resolves an IANA (or Windows) time zone id; "UTC" is always known.</summary>
    public static TimeZoneInfo ResolveTimeZone(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return id is "UTC" or "Etc/UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(id);
    }

    /// <summary>
    /// The period containing <paramref name="now"/>: start inclusive, end exclusive, both in UTC. For
    /// <see cref="BudgetPeriodKind.Lifetime"/> it is [<paramref name="lifetimeStart"/>, MaxValue).
    /// </summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Containing(
        BudgetPeriodKind kind, TimeZoneInfo zone, DayOfWeek weekStartsOn, DateTimeOffset now, DateTimeOffset lifetimeStart)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (kind == BudgetPeriodKind.Lifetime) return (lifetimeStart.ToUniversalTime(), DateTimeOffset.MaxValue);

        var local = TimeZoneInfo.ConvertTime(now, zone).DateTime;
        var day = local.Date;
        var (first, next) = kind switch
        {
            BudgetPeriodKind.Daily => (day, day.AddDays(1)),
            BudgetPeriodKind.Weekly => WeekOf(day, weekStartsOn),
            _ => (new DateTime(day.Year, day.Month, 1), new DateTime(day.Year, day.Month, 1).AddMonths(1)),
        };
        return (StartOfLocalDay(first, zone), StartOfLocalDay(next, zone));
    }

    private static (DateTime, DateTime) WeekOf(DateTime day, DayOfWeek weekStartsOn)
    {
        var back = ((int)day.DayOfWeek - (int)weekStartsOn + 7) % 7;
        var first = day.AddDays(-back);
        return (first, first.AddDays(7));
    }

    /// <summary>The first instant (UTC) of the local calendar day <paramref name="localDate"/> in <paramref name="zone"/>.</summary>
    public static DateTimeOffset StartOfLocalDay(DateTime localDate, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = DateTime.SpecifyKind(localDate.Date, DateTimeKind.Unspecified);
        // Skip forward over a daylight-saving gap: the first valid local minute is the transition instant.
        var probe = local;
        while (zone.IsInvalidTime(probe)) probe = probe.AddMinutes(1);
        TimeSpan offset;
        if (zone.IsAmbiguousTime(probe))
        {
            offset = zone.GetAmbiguousTimeOffsets(probe).Max();
        }
        else
        {
            offset = zone.GetUtcOffset(probe);
        }

        return new DateTimeOffset(probe, offset).ToUniversalTime();
    }
}
