using System.Globalization;

namespace Gateway.Core.Savings;

/// <summary>Numbers as the evidence sentences show them (invariant culture), and the evidence a recommendation carries.</summary>
internal static class SavingsText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Count(long n) => n.ToString("#,##0", Invariant);

    public static string Count(decimal n) => n.ToString("#,##0", Invariant);

    /// <summary>"1 prefix", "3 prefixes".</summary>
    public static string Count(long n, string one, string many) => Count(n) + " " + (n == 1 ? one : many);

    public static string Share(double fraction) => (fraction * 100).ToString("0.#", Invariant) + " %";

    /// <summary>Dollars with cents, or with up to four decimals below a dollar (small workloads have small amounts).</summary>
    public static string Usd(decimal usd) => "$" + (Math.Abs(usd) >= 1m ? Cents(usd).ToString("#,##0.00", Invariant) : usd.ToString("0.00##", Invariant));

    public static string PerMillion(decimal usd) => "$" + usd.ToString("0.00##", Invariant) + " per million tokens";

    public static string Duration(double seconds) => seconds >= 3600 && seconds % 3600 == 0 ? (seconds / 3600).ToString("0.#", Invariant) + " h"
        : seconds >= 60 ? (seconds / 60).ToString("0.#", Invariant) + " min"
        : seconds.ToString("0.#", Invariant) + " s";

    public static decimal Cents(decimal usd) => Math.Round(usd, 2, MidpointRounding.AwayFromZero);

    /// <summary>Money in the figures: exact to the millionth of a dollar, like the headers.</summary>
    public static decimal Micro(decimal usd) => Math.Round(usd, 6, MidpointRounding.AwayFromZero);

    public static decimal Ratio(double fraction) => Math.Round((decimal)fraction, 4, MidpointRounding.AwayFromZero);

    /// <summary>Of two names of one thing, the one the report shows: the first in ordinal order, whatever order the records came in.</summary>
    public static string? Name(string? kept, string? seen) => seen is not null && (kept is null || string.CompareOrdinal(seen, kept) < 0) ? seen : kept;

    /// <summary>A key as people know it: its name and id, or its id.</summary>
    public static string Key(string keyId, string? keyName) => keyName is { Length: > 0 } ? $"key '{keyName}' ({keyId})" : $"key '{keyId}'";
}
