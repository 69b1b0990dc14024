using Gateway.Core.Caching;
using StackExchange.Redis;

namespace Gateway.Storage;

/// <summary>
/// The shared response cache in Redis: one string per entry under <c>llmgw:cache:</c> + the cache key (which already
/// holds the team or key scope and a SHA-256), holding <see cref="CachedCompletionCodec"/> bytes, set with the entry's
/// ttl as its Redis expiry. One connection, opened on first use; it never aborts on a failed connect and, while
/// Redis is unreachable, commands fail at once rather than queue (<see cref="TieredCacheStore"/> turns that into a miss).
/// </summary>
public sealed class RedisCacheStore : ICacheStore, ICacheEntryRemoval, IAsyncDisposable
{
    public const string KeyPrefix = "llmgw:cache:";
    private readonly Func<Task<IConnectionMultiplexer>> _connect;
    private readonly Lock _gate = new();
    private Task<IConnectionMultiplexer>? _connection;

    /// <summary>Connects with a connection string (<c>host:port,password=…,ssl=true</c>); throws <see cref="ArgumentException"/> when it does not parse.</summary>
    public RedisCacheStore(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        _connect = async () => await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
    }

    /// <summary>Uses a connection owned by the caller (not disposed here).</summary>
    public RedisCacheStore(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = Task.FromResult(connection);
        _connect = () => Task.FromResult(connection);
        OwnsConnection = false;
    }

    private bool OwnsConnection { get; } = true;

    public static RedisKey KeyFor(string key) => KeyPrefix + key;

    public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var value = await database.StringGetAsync(KeyFor(key)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : CachedCompletionCodec.Decode((byte[])value!);
    }

    public async ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (ttl <= TimeSpan.Zero) return;
        var database = await DatabaseAsync().ConfigureAwait(false);
        await database.StringSetAsync(KeyFor(key), CachedCompletionCodec.Encode(value), new Expiration(ttl)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        return await database.KeyDeleteAsync(KeyFor(key)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One connection for the store's life, opened on first use; a connect that failed outright is tried again
    /// on the next call rather than remembered.</summary>
    private async Task<IDatabase> DatabaseAsync()
    {
        Task<IConnectionMultiplexer> connecting;
        lock (_gate)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled) _connection = _connect();
            connecting = _connection;
        }

        return (await connecting.ConfigureAwait(false)).GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        if (OwnsConnection && _connection is { IsCompletedSuccessfully: true } connection)
            await connection.Result.DisposeAsync().ConfigureAwait(false);
    }
}
