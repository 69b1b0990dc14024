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
    /// <summary>How long a lookup in the store may take; a slower store is a miss (a cache never holds a request up).</summary>
    public double LookupTimeoutMs { get; set; } = 250;
}

/// <summary>
/// A cached answer: the chat.completion body and what produced it. <paramref name="RequestId"/> is the usage record id of
/// the request whose answer it is (entries are shared by a team, but each was created by one end user's request: erasing
/// that user's data removes it); null for entries written before it was kept.
/// </summary>
public sealed record CachedCompletion(string Body, TokenUsage Usage, string Deployment, DateTimeOffset CreatedAt, string? RequestId = null);

/// <summary>Where cached answers live (in memory here; Azure Storage and Redis are further backends).</summary>
public interface ICacheStore
{
    ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>A store that can remove one entry (erasing an end user's data removes the answers their requests created).</summary>
public interface ICacheEntryRemoval
{
    /// <summary>Removes the entry; false when there was none. Removing twice is harmless.</summary>
    ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A store that can answer at once from memory, when it has the entry in this process (no I/O).</summary>
public interface ILocalCacheView
{
    CachedCompletion? GetLocal(string key);
}

/// <summary>An in-process cache with per-entry expiry and a size bound (oldest entries evicted first).</summary>
public sealed class InMemoryCacheStore(TimeProvider time, int maxEntries = 10_000) : ICacheStore, ILocalCacheView, ICacheEntryRemoval
{
    private readonly ConcurrentDictionary<string, (CachedCompletion Value, DateTimeOffset Expires, long Order)> _entries = new(StringComparer.Ordinal);
    private long _order;

    public int Count => _entries.Count;

    public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(GetLocal(key));

    public CachedCompletion? GetLocal(string key)
    {
        if (!_entries.TryGetValue(key, out var entry)) return null;
        if (entry.Expires > time.GetUtcNow()) return entry.Value;
        _entries.TryRemove(new KeyValuePair<string, (CachedCompletion, DateTimeOffset, long)>(key, entry));
        return null;
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

    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(_entries.TryRemove(key, out _));
}

/// <summary>
/// The cache key: SHA-256 of the canonical JSON of everything in the request that can change the answer — the
/// resolved model, messages, tools, sampling and output settings, and any field the gateway passes through unknown —
/// with object keys sorted and numbers normalised (0, 0.0 and 0e0 are one number). Never part of it: the stream flag
/// and stream options, the end user, metadata and the request id. The scope (team or key) prefixes it, so entries
/// are never shared across teams. Without the scope the hash is the request's <see cref="RequestHash"/>, which usage
/// records keep whether the cache is on or not; <see cref="PrefixHash"/> hashes the request's shared prefix the same way.
/// </summary>
public static class CacheKey
{
    private static readonly HashSet<string> Ignored = ["stream", "stream_options", "user", "metadata", "store", "service_tier"];

    public static string For(ChatRequest request, string model, string scope) => For(scope, RequestHash(request, model));

    /// <summary>The entry key of a request (its <see cref="RequestHash"/>) in a scope (<c>team:…</c> or <c>key:…</c>).</summary>
    public static string For(string scope, string requestHash) => scope + "|" + requestHash;

    /// <summary>
    /// The canonical hash of a request (lower-case SHA-256 hex): identical for requests the cache would answer alike,
    /// whoever sends them (no key, user or scope is part of it).
    /// </summary>
    public static string RequestHash(ChatRequest request, string model)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Hash(writer =>
        {
            var names = new List<string>(request.Body.Count + 1) { "model" };
            foreach (var (name, _) in request.Body)
            {
                if (!Ignored.Contains(name) && name != "model") names.Add(name);
            }

            names.Sort(StringComparer.Ordinal);
            writer.WriteStartObject();
            foreach (var name in names)
            {
                writer.WritePropertyName(name);
                if (name == "model") writer.WriteStringValue(model);
                else Write(writer, request.Body[name]);
            }

            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// The canonical hash (lower-case SHA-256 hex) of the request's shared prefix — the model, the tool and function
    /// definitions and the messages before the last user turn (<see cref="ChatRequest.PrefixMessageCount"/>), the part a
    /// provider's prompt cache can serve again; null when the request has no such prefix.
    /// </summary>
    public static string? PrefixHash(ChatRequest request, string model)
    {
        ArgumentNullException.ThrowIfNull(request);
        var count = request.PrefixMessageCount;
        var tools = request.Body["tools"];
        var functions = request.Body["functions"];
        if (count == 0 && tools is null && functions is null) return null;
        return Hash(writer =>
        {
            // the properties in ordinal order, as everywhere in the canonical form
            writer.WriteStartObject();
            if (functions is not null)
            {
                writer.WritePropertyName("functions");
                Write(writer, functions);
            }

            writer.WritePropertyName("messages");
            writer.WriteStartArray();
            for (var i = 0; i < count; i++) Write(writer, request.Messages[i].Node);
            writer.WriteEndArray();
            writer.WriteString("model", model);
            if (tools is not null)
            {
                writer.WritePropertyName("tools");
                Write(writer, tools);
            }

            writer.WriteEndObject();
        });
    }

    private static string Hash(Action<Utf8JsonWriter> canonical)
    {
        // the canonical JSON is written straight into a pooled buffer and hashed there (no copy of the request is built)
        using var buffer = new Pipeline.PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            canonical(writer);
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenMemory.Span, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static void Write(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject o:
                writer.WriteStartObject();
                if (o.Count > 0)
                {
                    var properties = new KeyValuePair<string, JsonNode?>[o.Count];
                    var i = 0;
                    foreach (var property in o) properties[i++] = property;
                    Array.Sort(properties, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
                    foreach (var (name, value) in properties)
                    {
                        writer.WritePropertyName(name);
                        Write(writer, value);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (var item in a) Write(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                WriteNumber(writer, v);
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    /// <summary>Numbers by value: 1, 1.0 and 1e0 are written alike.</summary>
    private static void WriteNumber(Utf8JsonWriter writer, JsonValue value)
    {
        if (value.TryGetValue<decimal>(out var d)
            || decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
        {
            writer.WriteNumberValue(d / 1.000000000000000000000000000000000m);
            return;
        }

        writer.WriteNumberValue(double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture));
    }
}
