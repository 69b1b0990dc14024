using Gateway.Core.Pipeline;

namespace Gateway.Core.Audit;

/// <summary>
/// Who made an admin change: <c>admin</c>, or <c>admin:&lt;name&gt;</c> when the caller names itself in the
/// <see cref="Header"/> header (the admin key is shared; the name is what the caller says, recorded as said), and the
/// address it came from.
/// </summary>
public sealed record AuditActor(string Name, string? Source)
{
    /// <summary>The header an admin tool names the person or system acting in (e.g. <c>alice@example.com</c>, <c>terraform</c>).</summary>
    public const string Header = "x-gateway-actor";

    public const int MaxNameLength = 128;

    public static AuditActor System { get; } = new("gateway", null);

    public static AuditActor FromHeaders(IRequestHeaders headers, string? source)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var said = headers.Get(Header)?.Trim();
        if (string.IsNullOrEmpty(said)) return new AuditActor("admin", source);
        // printable, bounded: the name goes into the log as data, never as markup or a new line
        var clean = new string([.. said.Where(c => !char.IsControl(c)).Take(MaxNameLength)]);
        return new AuditActor("admin:" + clean, source);
    }
}
