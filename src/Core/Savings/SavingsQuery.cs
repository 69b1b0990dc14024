using System.Globalization;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// A savings request: <c>from</c> and <c>to</c> (ISO 8601, UTC if no offset), at most <see cref="SavingsOptions.MaxRangeDays"/>
/// apart. <c>to</c> equal to <c>from</c> is an empty range (an empty report); before it, a 400 naming <c>to</c>.
/// </summary>
public sealed record SavingsQuery(DateTimeOffset From, DateTimeOffset To)
{
    public static SavingsQuery Parse(Func<string, string?> query, SavingsOptions options)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        var from = UsageReportQuery.Time(query("from"), "from");
        var to = UsageReportQuery.Time(query("to"), "to");
        if (to < from) throw Errors.Errors.InvalidRequest("'to' must not be before 'from'.", "to");
        if (to - from > TimeSpan.FromDays(options.MaxRangeDays))
        {
            throw Errors.Errors.InvalidRequest(
                $"The savings analysis reads raw records: the range may be at most {options.MaxRangeDays.ToString(CultureInfo.InvariantCulture)} days (Gateway:Savings:MaxRangeDays). Ask for one month at a time.",
                "to", "report_too_large");
        }

        return new SavingsQuery(from, to);
    }
}
