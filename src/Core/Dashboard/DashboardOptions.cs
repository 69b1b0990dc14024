namespace Gateway.Core.Dashboard;

/// <summary>The admin dashboard (section <c>Gateway:Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// The secret that signs dashboard sessions: at least 32 characters (e.g. <c>openssl rand -base64 48</c>); in Azure a
    /// Key Vault reference. Unset: in Development a key is generated at start (sessions end with the process and hold on
    /// that instance only); elsewhere dashboard sign-in is off.
    /// </summary>
    public string? SessionKey { get; set; }

    /// <summary>How long a session lasts from sign-in, in minutes (1 to 60).</summary>
    public double SessionMinutes { get; set; } = 15;

    /// <summary>Every problem with these settings, each naming its setting (never a secret's value).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (double.IsNaN(SessionMinutes) || SessionMinutes < 1 || SessionMinutes > 60)
            errors.Add("Gateway:Dashboard:SessionMinutes must be between 1 and 60.");
        if (!string.IsNullOrEmpty(SessionKey) && !Configuration.SecretReference.IsUnresolvedKeyVaultReference(SessionKey)
            && System.Text.Encoding.UTF8.GetByteCount(SessionKey) < Auth.AdminSessions.MinimumKeyBytes)
            errors.Add($"Gateway:Dashboard:SessionKey must be at least {Auth.AdminSessions.MinimumKeyBytes} characters long (e.g. openssl rand -base64 48).");
        return errors;
    }
}
