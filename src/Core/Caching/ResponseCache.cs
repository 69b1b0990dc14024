using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Protocol;

namespace Gateway.Core.Caching;

/// <summary>Response cache settings (section <c>Gateway:Cache</c>).</summary>
public sealed class CacheOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Who may share an entry: <c>team</c> (the default; a key without a team is its own scope) or <c>key</c>. Never across teams.</summary>
    public string Scope { get; set; } = "team";
    public double DefaultTtlSeconds { get; set; } = 3600;
    public double MaxTtlSeconds { get; set; } = 86400;
    /// <summary>Entries kept in memory at most (oldest evicted first).</summary>
    public int MaxEntries { get; set; } = 10_000;
    /// <summary>Where entries live: <c>memory</c> (per instance, the default), <c>storage</c> (Azure Blob Storage, shared by
    /// every instance) or <c>redis</c> (shared). A shared backend is fronted by a short-lived in-memory copy.</summary>
    public string Backend { get; set; } = "memory";
    /// <summary>Name of the app setting holding the Redis connection string (a secret; may be a Key Vault reference).</summary>
    public string RedisConnectionSetting { get; set; } = "Gateway__Cache__RedisConnection";
    /// <summary>Blob container for the <c>storage</c> backend (in the gateway's storage account).</summary>
    public string StorageContainer { get; set; } = "response-cache";
    /// <summary>How long an instance keeps its in-memory copy of a shared entry (bounds how late an expiry is seen).</summary>
    public double LocalCopySeconds { get; set; } = 30;
}

/// <summary>A cached answer: the chat.completion body and what produced it.</summary>
public sealed record CachedCompletion(string Body, TokenUsage Usage, string Deployment, DateTimeOffset CreatedAt);

/// <summary>Where cached answers live (in memory here; Azure Storage and Redis are further backends).</summary>
public interface ICacheStore
{
    ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>An in-process cache with per-entry expiry and a size bound (oldest entries evicted first).</summary>
public sealed class InMemoryCacheStore(TimeProvider time, int maxEntries = 10_000) : ICacheStore
{
    private readonly ConcurrentDictionary<string, (CachedCompletion Value, DateTimeOffset Expires, long Order)> _entries = new(StringComparer.Ordinal);
    private long _order;

    public int Count => _entries.Count;

    public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(key, out var entry)) return ValueTask.FromResult<CachedCompletion?>(null);
        if (entry.Expires > time.GetUtcNow()) return ValueTask.FromResult<CachedCompletion?>(entry.Value);
        _entries.TryRemove(new KeyValuePair<string, (CachedCompletion, DateTimeOffset, long)>(key, entry));
        return ValueTask.FromResult<CachedCompletion?>(null);
    }

    public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        _entries[key] = (value, time.GetUtcNow() + ttl, Interlocked.Increment(ref _order));
        if (_entries.Count > maxEntries)
        {
            foreach (var old in _entries.OrderBy(e => e.Value.Order).Take(_entries.Count - maxEntries).ToList()) _entries.TryRemove(old);
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The cache key: SHA-256 of the canonical JSON of everything in the request that can change the answer — the
/// resolved model, messages, tools, sampling and output settings, and any field the gateway passes through unknown —
/// with object keys sorted and numbers normalised (0, 0.0 and 0e0 are one number). Never part of it: the stream flag
/// and stream options, the end user, metadata and the request id. The scope (team or key) prefixes it, so entries
/// are never shared across teams.
/// </summary>
public static class CacheKey
{
    private static readonly HashSet<string> Ignored = ["stream", "stream_options", "user", "metadata", "store", "service_tier"];

    public static string For(ChatRequest request, string model, string scope)
    {
        var canonical = new JsonObject();
        foreach (var (name, value) in request.Body.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (Ignored.Contains(name) || name == "model") continue;
            canonical[name] = Canonical(value);
        }

        canonical["model"] = model;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToJsonString()));
        return scope + "|" + Convert.ToHexStringLower(hash);
    }

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => Number(v),
        _ => node.DeepClone(),
    };

    private static JsonValue Number(JsonValue value)
    {
        var text = value.ToJsonString();
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d / 1.000000000000000000000000000000000m)!;
        return JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture))!;
    }
}
