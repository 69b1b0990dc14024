using System.Collections.Concurrent;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Core.RateLimits;

namespace Gateway.Core.Routing;

/// <summary>A deployment's share of its provider quota, by key: one fair-share window per limited dimension.</summary>
public sealed record UpstreamState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public FairShareState? Requests { get; init; }
    public FairShareState? Tokens { get; init; }
}

public enum UpstreamOp
{
    Take,
    Refund,
}

/// <summary>One operation on a deployment's upstream counter (a Durable Entity per deployment in Azure).</summary>
public sealed record UpstreamCommand
{
    public required UpstreamOp Op { get; init; }
    public long? RequestsPerMinute { get; init; }
    public long? TokensPerMinute { get; init; }
    public required string Key { get; init; }
    public long Requests { get; init; }
    public long Tokens { get; init; }
}

/// <param name="RequestsLeft">What this key may still take in the window before other keys' shares are touched.</param>
public sealed record UpstreamResult(bool Allowed, TimeSpan RetryAfter, long RequestsLeft, long TokensLeft);

/// <summary>Applies a command to a deployment's upstream counter: pure, the whole behaviour of its entity.</summary>
public static class UpstreamCommands
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    public static (UpstreamState State, UpstreamResult Result) Apply(UpstreamState? state, UpstreamCommand command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var s = state ?? new UpstreamState();
        s = s with { Requests = Limit(s.Requests, command.RequestsPerMinute, now), Tokens = Limit(s.Tokens, command.TokensPerMinute, now) };
        if (command.Op == UpstreamOp.Refund)
        {
            if (s.Tokens is { } t && command.Tokens > 0) s = s with { Tokens = FairShare.Refund(t, command.Key, command.Tokens, now) };
            if (s.Requests is { } r && command.Requests > 0) s = s with { Requests = FairShare.Refund(r, command.Key, command.Requests, now) };
            return (s, new UpstreamResult(true, TimeSpan.Zero, long.MaxValue, long.MaxValue));
        }

        long requestsLeft = long.MaxValue, tokensLeft = long.MaxValue;
        var requests = s.Requests;
        if (requests is not null)
        {
            var (next, decision) = FairShare.TryTake(requests, command.Key, command.Requests, now);
            if (!decision.Allowed) return (s with { Requests = next }, new UpstreamResult(false, decision.RetryAfter, 0, 0));
            requests = next;
            requestsLeft = Math.Max(decision.Share - decision.KeyUsed, 0) + decision.Unclaimed;
        }

        if (s.Tokens is { } tokens)
        {
            var (next, decision) = FairShare.TryTake(tokens, command.Key, command.Tokens, now);
            if (!decision.Allowed)
            {
                // nothing is taken when either dimension refuses
                return (s with { Tokens = next }, new UpstreamResult(false, decision.RetryAfter, 0, 0));
            }

            s = s with { Tokens = next };
            tokensLeft = Math.Max(decision.Share - decision.KeyUsed, 0) + decision.Unclaimed;
        }

        return (s with { Requests = requests }, new UpstreamResult(true, TimeSpan.Zero, requestsLeft, tokensLeft));
    }

    private static FairShareState? Limit(FairShareState? current, long? limit, DateTimeOffset now) => limit switch
    {
        null => null,
        _ when current is null => FairShare.Create(limit.Value, Minute, now),
        _ when current.Limit != limit.Value => current with { Limit = limit.Value },
        _ => current,
    };
}

/// <summary>Where deployments' upstream counters and the model/provider stop list live.</summary>
public interface IUpstreamBackend
{
    Task<UpstreamResult> SendAsync(string deployment, UpstreamCommand command, CancellationToken cancellationToken);

    Task<StopListState> ReadStopsAsync(CancellationToken cancellationToken);

    Task<StopListState> ChangeStopsAsync(StopCommand command, CancellationToken cancellationToken);
}

/// <summary>Stops or resumes a model or a provider everywhere (optionally until a time).</summary>
public sealed record StopCommand(bool Stop, StopTarget Target, string Name, string? Reason = null, DateTimeOffset? Until = null)
{
    public StopListState Apply(StopListState state, DateTimeOffset now) => Stop
        ? StopList.Stop(state, Target, Name, string.IsNullOrWhiteSpace(Reason) ? "emergency stop" : Reason, now, Until)
        : StopList.Resume(state, Target, Name, now);
}

/// <summary>Upstream counters and stops in this process (a single instance, tests).</summary>
public sealed class InMemoryUpstreamBackend(TimeProvider time) : IUpstreamBackend
{
    private readonly ConcurrentDictionary<string, (Lock Gate, UpstreamState? State)> _counters = new(StringComparer.Ordinal);
    private readonly Lock _stopsGate = new();
    private StopListState _stops = new();

    public Task<UpstreamResult> SendAsync(string deployment, UpstreamCommand command, CancellationToken cancellationToken)
    {
        var slot = _counters.GetOrAdd(deployment, _ => (new Lock(), null));
        lock (slot.Gate)
        {
            var (next, result) = UpstreamCommands.Apply(_counters[deployment].State, command, time.GetUtcNow());
            _counters[deployment] = (slot.Gate, next);
            return Task.FromResult(result);
        }
    }

    public Task<StopListState> ReadStopsAsync(CancellationToken cancellationToken)
    {
        lock (_stopsGate) return Task.FromResult(_stops);
    }

    public Task<StopListState> ChangeStopsAsync(StopCommand command, CancellationToken cancellationToken)
    {
        lock (_stopsGate) return Task.FromResult(_stops = command.Apply(_stops, time.GetUtcNow()));
    }
}

/// <summary>Settings for upstream limits (section <c>Gateway:Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    /// <summary>How long a request may wait for upstream capacity before it is refused (when no other deployment has any).</summary>
    public double MaxWaitSeconds { get; set; } = 2;
    /// <summary>How often an instance re-reads the model and provider stop list.</summary>
    public double StopsRefreshSeconds { get; set; } = 5;
    /// <summary>Far from its share a key takes this share of the deployment's limit at a time (no round trip per request).</summary>
    public double AllotmentShare { get; set; } = 0.02;
    /// <summary>An allotment not used within this time is given back.</summary>
    public double AllotmentSeconds { get; set; } = 1;
}

/// <summary>Why a deployment could not take a request now.</summary>
public sealed record UpstreamAdmission(bool Allowed, TimeSpan RetryAfter, StopEntry? Stopped)
{
    public static UpstreamAdmission Yes { get; } = new(true, TimeSpan.Zero, null);
}

/// <summary>
/// Keeps the gateway from forwarding into a provider's own 429: each deployment's provider quota
/// (<see cref="DeploymentOptions.RequestsPerMinute"/>, <see cref="DeploymentOptions.TokensPerMinute"/>) is shared
/// fairly among the keys using it (<see cref="FairShare"/>: each active key is guaranteed its share, a key beyond its
/// share takes only unclaimed capacity), so one noisy key cannot starve the others. Far from its share a key's requests
/// come from a small local allotment; near it each request is decided by the deployment's counter. Also holds the
/// emergency stop list for models and providers, re-read every <see cref="UpstreamOptions.StopsRefreshSeconds"/>.
/// </summary>
public sealed class UpstreamGate(IUpstreamBackend backend, TimeProvider time, UpstreamOptions options) : IDisposable
{
    private sealed class Allotment
    {
        public readonly Lock Gate = new();
        public long Requests;
        public long Tokens;
        public long ExpiresAt;
        public bool Plenty;
    }

    private readonly ConcurrentDictionary<(string Deployment, string Key), Allotment> _allotments = new();
    private readonly SemaphoreSlim _stopsGate = new(1, 1);
    private volatile Tuple<StopListState, long>? _stops;

    public IUpstreamBackend Backend => backend;

    public UpstreamOptions Options => options;

    public void Dispose() => _stopsGate.Dispose();

    /// <summary>Forgets the cached stop list (after a change on this instance).</summary>
    public void Invalidate() => _stops = null;

    /// <summary>The stop in force for a model or a provider (as known to this instance), or null.</summary>
    public async ValueTask<StopEntry?> StoppedAsync(StopTarget target, string name, CancellationToken cancellationToken)
    {
        var stops = await StopsAsync(cancellationToken).ConfigureAwait(false);
        return stops.Entries.IsEmpty ? null : StopList.Find(stops, target, name, time.GetUtcNow());
    }

    private async ValueTask<StopListState> StopsAsync(CancellationToken cancellationToken)
    {
        var cached = _stops;
        if (cached is not null && time.GetElapsedTime(cached.Item2).TotalSeconds < options.StopsRefreshSeconds) return cached.Item1;
        if (cached is not null && !await _stopsGate.WaitAsync(0, cancellationToken).ConfigureAwait(false)) return cached.Item1;
        if (cached is null) await _stopsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = await backend.ReadStopsAsync(cancellationToken).ConfigureAwait(false);
            _stops = Tuple.Create(state, time.GetTimestamp());
            return state;
        }
        finally
        {
            _stopsGate.Release();
        }
    }

    public async ValueTask<UpstreamAdmission> AdmitAsync(DeploymentOptions deployment, string key, long tokens, CancellationToken cancellationToken)
    {
        if (deployment.RequestsPerMinute is null && deployment.TokensPerMinute is null) return UpstreamAdmission.Yes;
        var a = _allotments.GetOrAdd((deployment.Name, key), _ => new Allotment());
        long takeRequests = 1, takeTokens = tokens;
        lock (a.Gate)
        {
            if (time.GetTimestamp() < a.ExpiresAt && a.Requests >= 1 && a.Tokens >= tokens)
            {
                a.Requests--;
                a.Tokens -= tokens;
                return UpstreamAdmission.Yes;
            }

            if (a.Plenty)
            {
                takeRequests = Math.Max(1, (long)((deployment.RequestsPerMinute ?? 0) * options.AllotmentShare));
                takeTokens = Math.Max(tokens, (long)((deployment.TokensPerMinute ?? 0) * options.AllotmentShare));
                if (deployment.TokensPerMinute is null) takeTokens = tokens * takeRequests;
            }
        }

        var result = await backend.SendAsync(deployment.Name, Command(deployment, key, takeRequests, takeTokens), cancellationToken).ConfigureAwait(false);
        if (!result.Allowed && (takeRequests > 1 || takeTokens > tokens))
        {
            (takeRequests, takeTokens) = (1, tokens);
            result = await backend.SendAsync(deployment.Name, Command(deployment, key, 1, tokens), cancellationToken).ConfigureAwait(false);
        }

        lock (a.Gate)
        {
            if (!result.Allowed)
            {
                a.Requests = a.Tokens = 0;
                a.Plenty = false;
                return new UpstreamAdmission(false, result.RetryAfter, null);
            }

            a.Requests = takeRequests - 1;
            a.Tokens = takeTokens - tokens;
            a.ExpiresAt = time.GetTimestamp() + (long)(options.AllotmentSeconds * time.TimestampFrequency);
            // plenty left for this key: the next round trip may take a batch
            a.Plenty = (deployment.RequestsPerMinute is not { } rpm || result.RequestsLeft > rpm / 4) &&
                       (deployment.TokensPerMinute is not { } tpm || result.TokensLeft > tpm / 4);
            return UpstreamAdmission.Yes;
        }
    }

    private static UpstreamCommand Command(DeploymentOptions d, string key, long requests, long tokens) => new()
    {
        Op = UpstreamOp.Take, RequestsPerMinute = d.RequestsPerMinute, TokensPerMinute = d.TokensPerMinute, Key = key, Requests = requests, Tokens = tokens,
    };

    /// <summary>Gives back tokens counted up front but not used (real count below the estimate).</summary>
    public async Task RefundAsync(DeploymentOptions deployment, string key, long unusedTokens, CancellationToken cancellationToken)
    {
        if (deployment.TokensPerMinute is null || unusedTokens <= 0) return;
        await backend.SendAsync(deployment.Name, new UpstreamCommand
        {
            Op = UpstreamOp.Refund, RequestsPerMinute = deployment.RequestsPerMinute, TokensPerMinute = deployment.TokensPerMinute, Key = key, Tokens = unusedTokens,
        }, cancellationToken).ConfigureAwait(false);
    }
}
