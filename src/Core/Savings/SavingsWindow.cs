namespace Gateway.Core.Savings;

/// <summary>
/// The analysed range, cut at the time of the analysis (a range that ends later has not been observed past now), and
/// the scaling of what was observed over it to a 30-day month.
/// </summary>
internal sealed class SavingsWindow
{
    public const int DaysPerMonth = 30;

    public SavingsWindow(DateTimeOffset from, DateTimeOffset to, DateTimeOffset now)
    {
        From = from;
        To = to;
        var observedEnd = to < now ? to : now;
        Days = observedEnd > from ? (observedEnd - from).TotalDays : 0;
        End = observedEnd;
    }

    public DateTimeOffset From { get; }

    public DateTimeOffset To { get; }

    /// <summary>Where observation ends: <see cref="To"/>, or now when that is earlier.</summary>
    public DateTimeOffset End { get; }

    /// <summary>The days observed; 0 for an empty range or one that has not begun.</summary>
    public double Days { get; }

    public bool IsEmpty => Days <= 0;

    public bool Contains(DateTimeOffset at) => at >= From && at < To;

    /// <summary>An amount observed over the window, as a month's worth (exact).</summary>
    public decimal PerMonth(decimal observed) => IsEmpty ? 0m : observed * DaysPerMonth / (decimal)Days;

    /// <summary>A count observed over the window, as a month's worth (whole).</summary>
    public decimal PerMonth(long observed) => Math.Round(PerMonth((decimal)observed), 0, MidpointRounding.AwayFromZero);

    /// <summary>A month's worth of an observed amount of money, in cents: an estimate, shown as one.</summary>
    public decimal MonthlyUsd(decimal observed) => SavingsText.Cents(PerMonth(observed));
}
