using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Core.Budgets;

/// <summary>
/// Budget alerts as they leave the gateway: a JSON document (the same on the alert queue and in the webhook body) and
/// the webhook's signature, <c>x-gateway-signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "&lt;t&gt;.&lt;body&gt;")&gt;</c>.
/// A receiver recomputes the HMAC over the timestamp and the raw body, compares in constant time, rejects old timestamps,
/// and deduplicates by <c>id</c> (deliveries are retried, so one alert may arrive more than once).
/// </summary>
public static class BudgetAlertMessages
{
    public const string SignatureHeader = "x-gateway-signature";
    public const string AlertIdHeader = "x-gateway-alert-id";

    public static string ToJson(BudgetAlert alert) => new JsonObject
    {
        ["type"] = "budget.threshold_reached",
        ["id"] = alert.Id,
        ["scope"] = alert.Scope.ToString(),
        ["threshold"] = alert.Threshold,
        ["spent_usd"] = alert.SpentUsd,
        ["limit_usd"] = alert.LimitUsd,
        ["period_start"] = alert.PeriodStart.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["period_end"] = alert.PeriodEnd.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["raised_at"] = alert.RaisedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
    }.ToJsonString();

    public static string Sign(string secret, DateTimeOffset at, string body)
    {
        var timestamp = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body));
        return $"t={timestamp},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Checks a signature as a receiver would (constant-time compare, bounded clock skew).</summary>
    public static bool Verify(string secret, string header, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        string? t = null, v1 = null;
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            if (part[..eq] == "t") t = part[(eq + 1)..];
            else if (part[..eq] == "v1") v1 = part[(eq + 1)..];
        }

        if (t is null || v1 is null || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return false;
        var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if ((now - at).Duration() > tolerance) return false;
        var expected = Sign(secret, at, body);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(header.Trim()));
    }
}
