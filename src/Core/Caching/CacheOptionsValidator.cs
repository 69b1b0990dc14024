using System.Globalization;

namespace Gateway.Core.Caching;

/// <summary>The values of <see cref="CacheOptions.Backend"/>.</summary>
public static class CacheBackends
{
    /// <summary>Per instance (<see cref="InMemoryCacheStore"/>).</summary>
    public const string Memory = "memory";
    /// <summary>Azure Blob Storage, shared, behind a <see cref="TieredCacheStore"/>.</summary>
    public const string Storage = "storage";
    /// <summary>Redis, shared, behind a <see cref="TieredCacheStore"/>.</summary>
    public const string Redis = "redis";

    public static IReadOnlyList<string> All { get; } = [Memory, Storage, Redis];

    /// <summary>The backend named by the setting, lower-cased and trimmed (not checked).</summary>
    public static string Normalize(string? backend) => backend?.Trim().ToLowerInvariant() ?? "";
}

/// <summary>Checks the cache settings (section <c>Gateway:Cache</c>) and reports every problem, each naming its setting.</summary>
public static class CacheOptionsValidator
{
    private const string Root = "Gateway:Cache";

    public static IReadOnlyList<string> Validate(CacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var backend = CacheBackends.Normalize(options.Backend);
        if (!CacheBackends.All.Contains(backend))
            errors.Add($"{Root}:Backend '{options.Backend}' is not known; use one of {string.Join(", ", CacheBackends.All)}.");
        if (double.IsNaN(options.LookupTimeoutMs) || options.LookupTimeoutMs is <= 0 or > 60_000)
            errors.Add($"{Root}:LookupTimeoutMs must be above 0 and at most 60000 (was {options.LookupTimeoutMs.ToString(CultureInfo.InvariantCulture)}).");
        if (double.IsNaN(options.LocalCopySeconds) || double.IsInfinity(options.LocalCopySeconds) || options.LocalCopySeconds < 0)
            errors.Add($"{Root}:LocalCopySeconds must be zero or more (was {options.LocalCopySeconds.ToString(CultureInfo.InvariantCulture)}).");
        if (backend == CacheBackends.Storage && !IsContainerName(options.StorageContainer))
            errors.Add($"{Root}:StorageContainer '{options.StorageContainer}' is not a blob container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit).");
        if (backend == CacheBackends.Redis && string.IsNullOrWhiteSpace(options.RedisConnectionSetting))
            errors.Add($"{Root}:RedisConnectionSetting is required for the redis backend: name the app setting that holds the Redis connection string.");
        return errors;
    }

    private static bool IsContainerName(string? name) =>
        name is { Length: >= 3 and <= 63 } && char.IsAsciiLetterOrDigit(name[0]) && name[^1] != '-'
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && !name.Contains("--", StringComparison.Ordinal);
}
