using System.Globalization;

namespace Gateway.Core.Usage;

/// <summary>Rollup granularities and their bucket keys: sortable UTC timestamps (yyyyMMddHHmm, yyyyMMddHH, yyyyMMdd, yyyyMM).</summary>
public enum Granularity
{
    FiveMinutes,
    Hour,
    Day,
    Month,
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
            Granularity.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }

    /// <summary>The start of the bucket after the one starting at <paramref name="start"/>.</summary>
    public static DateTimeOffset Next(DateTimeOffset start, Granularity granularity) =>
        granularity == Granularity.Month ? start.AddMonths(1) : start + Length(granularity);

    /// <summary>The next coarser and finer granularities.</summary>
    public static Granularity Finer(Granularity granularity) => granularity switch
    {
        Granularity.Month => Granularity.Day,
        Granularity.Day => Granularity.Hour,
        _ => Granularity.FiveMinutes,
    };

    /// <summary>The fixed length of a bucket (months vary: use <see cref="Next"/>).</summary>
    public static TimeSpan Length(Granularity granularity) => granularity switch
    {
        Granularity.FiveMinutes => FiveMinutes,
        Granularity.Hour => TimeSpan.FromHours(1),
        Granularity.Day => TimeSpan.FromDays(1),
        _ => throw new ArgumentOutOfRangeException(nameof(granularity), "months have no fixed length"),
    };

    public static string Key(DateTimeOffset at, Granularity granularity)
    {
        var start = Floor(at, granularity);
        return granularity switch
        {
            Granularity.FiveMinutes => start.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture),
            Granularity.Hour => start.ToString("yyyyMMddHH", CultureInfo.InvariantCulture),
            Granularity.Day => start.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
            _ => start.ToString("yyyyMM", CultureInfo.InvariantCulture),
        };
    }

    public static DateTimeOffset Parse(string key)
    {
        var format = key.Length switch
        {
            12 => "yyyyMMddHHmm",
            10 => "yyyyMMddHH",
            8 => "yyyyMMdd",
            6 => "yyyyMM",
            _ => throw new FormatException($"'{key}' is not a bucket key"),
        };
        return DateTimeOffset.ParseExact(key, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    public static string Code(Granularity granularity) => granularity switch
    {
        Granularity.FiveMinutes => "m",
        Granularity.Hour => "h",
        Granularity.Day => "d",
        _ => "mo",
    };
}
