using System.Globalization;

namespace Gateway.Core.Usage;

/// <summary>Rollup granularities and their bucket keys: sortable UTC timestamps (yyyyMMddHHmm, yyyyMMddHH, yyyyMMdd).</summary>
public enum Granularity
{
    FiveMinutes,
    Hour,
    Day,
}

public static class UsageBuckets
{
    public static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    public static DateTimeOffset Floor(DateTimeOffset at, Granularity granularity)
    {
        var utc = at.ToUniversalTime();
        return granularity switch
        {
            Granularity.FiveMinutes => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute - (utc.Minute % 5), 0, TimeSpan.Zero),
            Granularity.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
        };
    }

    public static TimeSpan Length(Granularity granularity) => granularity switch
    {
        Granularity.FiveMinutes => FiveMinutes,
        Granularity.Hour => TimeSpan.FromHours(1),
        _ => TimeSpan.FromDays(1),
    };

    public static string Key(DateTimeOffset at, Granularity granularity)
    {
        var start = Floor(at, granularity);
        return granularity switch
        {
            Granularity.FiveMinutes => start.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture),
            Granularity.Hour => start.ToString("yyyyMMddHH", CultureInfo.InvariantCulture),
            _ => start.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
        };
    }

    public static DateTimeOffset Parse(string key)
    {
        var format = key.Length switch
        {
            12 => "yyyyMMddHHmm",
            10 => "yyyyMMddHH",
            8 => "yyyyMMdd",
            _ => throw new FormatException($"'{key}' is not a bucket key"),
        };
        return DateTimeOffset.ParseExact(key, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    public static string Code(Granularity granularity) => granularity switch
    {
        Granularity.FiveMinutes => "m",
        Granularity.Hour => "h",
        _ => "d",
    };
}
