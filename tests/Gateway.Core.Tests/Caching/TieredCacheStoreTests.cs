using Gateway.Core.Caching;
using Gateway.Core.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Caching;

/// <summary>The local copy in front of a shared store: what is served from where, for how long, and a failing shared store.</summary>
public sealed class TieredCacheStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private static CachedCompletion Entry(string text) => new($$"""{"id":"{{text}}"}""", new TokenUsage(10, 5), "d", Start);

    /// <summary>A shared store that counts its calls, expires on the same clock, and can be made to fail.</summary>
    private sealed class FakeShared(TimeProvider time) : ICacheStore
    {
        private readonly InMemoryCacheStore _inner = new(time);
        public int Gets { get; private set; }
        public int Sets { get; private set; }
        public TimeSpan LastTtl { get; private set; }
        public Exception? Failure { get; set; }

        public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Gets++;
            if (Failure is not null) throw Failure;
            return _inner.GetAsync(key, cancellationToken);
        }

        public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
        {
            Sets++;
            LastTtl = ttl;
            if (Failure is not null) throw Failure;
            return _inner.SetAsync(key, value, ttl, cancellationToken);
        }
    }

    [Fact]
    public async Task A_shared_hit_is_copied_locally_for_at_most_the_local_copy_time()
    {
        var time = new FakeTimeProvider(Start);
        var shared = new FakeShared(time);
        await shared.SetAsync("team:a|1", Entry("one"), TimeSpan.FromHours(1), default);
        var store = new TieredCacheStore(shared, time, TimeSpan.FromSeconds(30));

        Assert.Equal(Entry("one"), await store.GetAsync("team:a|1", default));
        Assert.Equal(1, shared.Gets);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(Entry("one"), await store.GetAsync("team:a|1", default));
        Assert.Equal(1, shared.Gets); // served locally

        // replaced elsewhere: seen once the local copy has lapsed
        await shared.SetAsync("team:a|1", Entry("two"), TimeSpan.FromHours(1), default);
        Assert.Equal(Entry("one"), await store.GetAsync("team:a|1", default));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(Entry("two"), await store.GetAsync("team:a|1", default));
        Assert.Equal(2, shared.Gets);
    }

    [Fact]
    public async Task Set_writes_both_and_the_local_copy_never_outlives_the_entry()
    {
        var time = new FakeTimeProvider(Start);
        var shared = new FakeShared(time);
        var store = new TieredCacheStore(shared, time, TimeSpan.FromSeconds(30));

        await store.SetAsync("k", Entry("short"), TimeSpan.FromSeconds(10), default);
        Assert.Equal(1, shared.Sets);
        Assert.Equal(TimeSpan.FromSeconds(10), shared.LastTtl);
        Assert.Equal(Entry("short"), await store.GetAsync("k", default));
        Assert.Equal(0, shared.Gets); // the local copy answered
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await store.GetAsync("k", default)); // both expired: the local copy did not keep it for 30 s
        Assert.Equal(1, shared.Gets);

        await store.SetAsync("long", Entry("long"), TimeSpan.FromHours(1), default);
        Assert.Equal(TimeSpan.FromHours(1), shared.LastTtl);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(Entry("long"), await store.GetAsync("long", default)); // local copy gone; shared still has it
        Assert.Equal(2, shared.Gets);
    }

    [Fact]
    public async Task A_miss_everywhere_is_a_miss_and_is_not_remembered()
    {
        var time = new FakeTimeProvider(Start);
        var shared = new FakeShared(time);
        var store = new TieredCacheStore(shared, time, TimeSpan.FromSeconds(30));
        Assert.Null(await store.GetAsync("nothing", default));
        await shared.SetAsync("nothing", Entry("now"), TimeSpan.FromHours(1), default);
        Assert.Equal(Entry("now"), await store.GetAsync("nothing", default));
    }

    [Fact]
    public async Task Without_a_local_copy_every_lookup_goes_to_the_shared_store()
    {
        var time = new FakeTimeProvider(Start);
        var shared = new FakeShared(time);
        var store = new TieredCacheStore(shared, time, TimeSpan.Zero);
        await store.SetAsync("k", Entry("x"), TimeSpan.FromHours(1), default);
        await store.GetAsync("k", default);
        await store.GetAsync("k", default);
        Assert.Equal(2, shared.Gets);
        Assert.Equal(0, store.LocalCount);
    }

    [Fact]
    public async Task A_failing_shared_store_is_a_miss_on_get_and_ignored_on_set()
    {
        var time = new FakeTimeProvider(Start);
        var shared = new FakeShared(time) { Failure = new InvalidOperationException("connect failed: password=hunter2") };
        var logger = new ListLogger();
        var store = new TieredCacheStore(shared, time, TimeSpan.FromSeconds(30), logger: logger);

        Assert.Null(await store.GetAsync("k", default));
        await store.SetAsync("k", Entry("x"), TimeSpan.FromHours(1), default); // does not throw
        Assert.Equal(Entry("x"), await store.GetAsync("k", default)); // the local copy still serves this instance
        Assert.Equal(2, store.SharedFailures);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(await store.GetAsync("k", default));
        Assert.Equal(3, store.SharedFailures);

        // logged once, by type only; then once more when the store answers again
        Assert.Single(logger.Messages);
        Assert.Contains("InvalidOperationException", logger.Messages[0], StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", logger.Messages[0], StringComparison.Ordinal);
        shared.Failure = null;
        Assert.Null(await store.GetAsync("k", default));
        Assert.Equal(2, logger.Messages.Count);
    }

    [Fact]
    public async Task A_cancelled_lookup_is_not_swallowed()
    {
        var time = new FakeTimeProvider(Start);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var shared = new FakeShared(time) { Failure = new OperationCanceledException(cancelled.Token) };
        var store = new TieredCacheStore(shared, time, TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.GetAsync("k", cancelled.Token));
        Assert.Equal(0, store.SharedFailures);
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Messages.Add(formatter(state, exception) + (exception is null ? "" : " " + exception.Message));
    }
}
