namespace Gateway.Core.Telemetry;

/// <summary>
/// Reads <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c>, the setting the Functions host reads to send telemetry with an
/// Entra ID token: <c>Authorization=AAD</c> (the system-assigned identity) or <c>ClientId=&lt;id&gt;;Authorization=AAD</c>
/// (a user-assigned one). The gateway's own metric exporter follows it, so its metrics are accepted by an Application
/// Insights component with local authentication disabled.
/// </summary>
public static class ApplicationInsightsAuthentication
{
    public const string Setting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>Whether Entra ID is asked for, and the user-assigned identity's client id when one is named.</summary>
    public static (bool Entra, string? ClientId) Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return (false, null);
        var entra = false;
        string? clientId = null;
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) continue;
            var name = part[..equals].Trim();
            var item = part[(equals + 1)..].Trim();
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)) entra = item.Equals("AAD", StringComparison.OrdinalIgnoreCase);
            else if (name.Equals("ClientId", StringComparison.OrdinalIgnoreCase) && item.Length > 0) clientId = item;
        }

        return (entra, entra ? clientId : null);
    }
}
