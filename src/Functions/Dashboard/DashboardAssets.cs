using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Gateway.Functions.Dashboard;

/// <summary>One file of the dashboard, held in memory with its content type and ETag.</summary>
public sealed record DashboardAsset(string Name, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The dashboard's page, script, style sheet and icon: files under <c>Dashboard/assets</c> embedded in this assembly
/// (nothing fetched from a CDN, no build step), read once.
/// </summary>
public sealed class DashboardAssets
{
    private const string Prefix = "dashboard/";
    private readonly FrozenDictionary<string, DashboardAsset> _assets;

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[Prefix.Length..];
            var content = copy.ToArray();
            assets[name] = new DashboardAsset(name, content, ContentType(name), "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + "\"");
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
        Page = Find("index.html") ?? throw new InvalidOperationException("The dashboard page (Dashboard/assets/index.html) is not embedded in the app.");
    }

    /// <summary>The page itself.</summary>
    public DashboardAsset Page { get; }

    /// <summary>An asset by its file name (the page is not one: it has its own route); null when there is none.</summary>
    public DashboardAsset? Find(string name) => _assets.GetValueOrDefault(name);

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
