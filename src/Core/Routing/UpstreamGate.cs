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
    /// <summary>What to take: a batch for this instance far from the key's share, else one request.</summary>
    public long Requests { get; init; }
    public long Tokens { get; init; }
    /// <summary>When the batch does not fit, take this much instead (the request that asked); 0: nothing.</summary>
    public long FallbackRequests { get; init; }
    public long FallbackTokens { get; init; }
    /// <summary>A take that reaches the counter after this is refused without taking anything: its sender has stopped waiting.</summary>
    public DateTimeOffset? DecideBy { get; init; }
}

/// <param name="RequestsLeft">What this key may still take in the window before other keys' shares are touched.</param>
public sealed record UpstreamResult(bool Allowed, TimeSpan RetryAfter, long RequestsLeft, long TokensLeft)
{
    public long GrantedRequests { get; init; }
    public long GrantedTokens { get; init; }
    /// <summary>Over a quarter of the quota is still this key's to take: batches are worth taking.</summary>
    public bool Plenty { get; init; }
}

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

        if (command.DecideBy is { } decideBy && now > decideBy) return (s, new UpstreamResult(false, TimeSpan.FromSeconds(1), 0, 0));
        var (next, result) = Take(s, command, command.Requests, command.Tokens, now);
        if (!result.Allowed && command.FallbackRequests > 0 && (command.FallbackRequests < command.Requests || command.FallbackTokens < command.Tokens))
            (next, result) = Take(s, command, command.FallbackRequests, command.FallbackTokens, now);
        return (next, result);
    }

    /// <summary>Takes <paramref name="requests"/> and <paramref name="tokens"/> for the key on every limited dimension, or nothing.</summary>
    private static (UpstreamState State, UpstreamResult Result) Take(UpstreamState s, UpstreamCommand command, long requests, long tokens, DateTimeOffset now)
    {
        long requestsLeft = long.MaxValue, tokensLeft = long.MaxValue;
        var requestState = s.Requests;
        if (requestState is not null)
        {
            var (next, decision) = FairShare.TryTake(requestState, command.Key, requests, now);
            if (!decision.Allowed) return (s with { Requests = next }, new UpstreamResult(false, decision.RetryAfter, 0, 0));
            requestState = next;
            requestsLeft = Math.Max(decision.Share - decision.KeyUsed, 0) + decision.Unclaimed;
        }

        if (s.Tokens is { } tokenState)
        {
            var (next, decision) = FairShare.TryTake(tokenState, command.Key, tokens, now);
            // nothing is taken when either dimension refuses
            if (!decision.Allowed) return (s with { Tokens = next }, new UpstreamResult(false, decision.RetryAfter, 0, 0));
            s = s with { Tokens = next };
            tokensLeft = Math.Max(decision.Share - decision.KeyUsed, 0) + decision.Unclaimed;
        }

        var plenty = (command.RequestsPerMinute is not { } rpm || requestsLeft > rpm / 4) && (command.TokensPerMinute is not { } tpm || tokensLeft > tpm / 4);
        return (s with { Requests = requestState }, new UpstreamResult(true, TimeSpan.Zero, requestsLeft, tokensLeft)
        {
            GrantedRequests = requests, GrantedTokens = tokens, Plenty = plenty,
        });
    }

    private static FairShareState? Limit(FairShareState? current, long? limit, DateTimeOffset now) => limit switch
    {
        null => null,
        _ when current is null => FairShare.Create(limit.Value, Minute, now),
        _ when current.Limit != limit.Value => current with { Limit = limit.Value },
        _ => current,
    };
}

/// <summary>Deployments' upstream counters as entities (one per deployment): <see cref="UpstreamCommands"/> is the machine.</summary>
public sealed class UpstreamEntityKind : Entities.EntityKind<UpstreamState, UpstreamCommand, UpstreamResult>
{
    public const string EntityName = "upstream";

    public static UpstreamEntityKind Instance { get; } = new();

    public override string Name => EntityName;

    public override Entities.EntityStep<UpstreamState, UpstreamResult> Step(UpstreamState? state, UpstreamCommand command, DateTimeOffset now)
    {
        var (next, result) = UpstreamCommands.Apply(state, command, now);
        return new(next, result);
    }

    public override string? LegacyState(Entities.EntityEnvelope envelope) => envelope.Counter;
}

/// <summary>Stops or resumes a model or a provider everywhere (optionally until a time).</summary>
public sealed record StopCommand(bool Stop, StopTarget Target, string Name, string? Reason = null, DateTimeOffset? Until = null)
{
    public StopListState Apply(StopListState state, DateTimeOffset now) => Stop
        ? StopList.Stop(state, Target, Name, string.IsNullOrWhiteSpace(Reason) ? "emergency stop" : Reason, now, Until)
        : StopList.Resume(state, Target, Name, now);
}

/// <summary>The model and provider stop list as one entity (key <see cref="Key"/>); its reply is the list after the change.</summary>
public sealed class StopsEntityKind : Entities.EntityKind<StopListState, StopCommand, StopListState>
{
    public const string EntityName = "stops";
    public const string Key = "all";

    public static StopsEntityKind Instance { get; } = new();

    public override string Name => EntityName;

    public override Entities.EntityStep<StopListState, StopListState> Step(StopListState? state, StopCommand command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var next = command.Apply(state ?? new StopListState(), now);
        return new(next, next);
    }

    /// <summary>Before envelopes the stop list was the entity's state itself (its properties at the top level).</summary>
    public override string? LegacyState(Entities.EntityEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Other is not { } other || !other.Keys.Any(k => k.Equals("entries", StringComparison.OrdinalIgnoreCase))) return null;
        return System.Text.Json.JsonSerializer.Serialize(other);
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

    /// <summary>No answer within the admission window (not a refusal by the quota).</summary>
    public bool Undecided { get; init; }
}

/// <summary>
/// Keeps the gateway from forwarding into a provider's own 429: each deployment's provider quota
/// (<see cref="DeploymentOptions.RequestsPerMinute"/>, <see cref="DeploymentOptions.TokensPerMinute"/>) is shared
/// fairly among the keys using it (<see cref="FairShare"/>: each active key is guaranteed its share, a key beyond its
/// share takes only unclaimed capacity), so one noisy key cannot starve the others. Far from its share a key's requests
/// come from a small local allotment, refilled in the background; near it each request is decided by the deployment's
/// counter within the request's admission window. Also holds the emergency stop list for models and providers, re-read
/// in the background every <see cref="UpstreamOptions.StopsRefreshSeconds"/>. Nothing here waits on an orchestration.
/// </summary>
public sealed class UpstreamGate : IDisposable
{
    private readonly ConcurrentDictionary<(string Deployment, string Key), Entities.Allotment> _allotments = new();
    private readonly Entities.EntityClient<UpstreamState, UpstreamCommand, UpstreamResult> _counters;
    private readonly Entities.EntityClient<StopListState, StopCommand, StopListState> _stopList;
    private readonly TimeProvider _time;
    private readonly UpstreamOptions _options;
    private readonly Entities.SingleFlight<Tuple<StopListState, long>> _stopsRead;
    private volatile Tuple<StopListState, long>? _stops;

    public UpstreamGate(Entities.IEntityChannel channel, TimeProvider time, UpstreamOptions options, string? instanceId = null)
    {
        _time = time;
        _options = options;
        _counters = new(channel, UpstreamEntityKind.Instance, time, instanceId ?? Environment.MachineName);
        _stopList = new(channel, StopsEntityKind.Instance, time, instanceId ?? Environment.MachineName);
        _stopsRead = new(LoadStopsAsync, time);
    }

    public UpstreamOptions Options => _options;

    public Entities.EntityClient<UpstreamState, UpstreamCommand, UpstreamResult> Counters => _counters;

    public void Dispose()
    {
    }

    /// <summary>Forgets the cached stop list (after a change on this instance).</summary>
    public void Invalidate()
    {
        _stopsRead.Invalidate();
        _stops = null;
    }

    /// <summary>The stop in force for a model or a provider (as known to this instance), or null.</summary>
    public async ValueTask<StopEntry?> StoppedAsync(StopTarget target, string name, CancellationToken cancellationToken)
    {
        var stops = await StopsAsync(cancellationToken).ConfigureAwait(false);
        return stops.Entries.IsEmpty ? null : StopList.Find(stops, target, name, _time.GetUtcNow());
    }

    private async ValueTask<StopListState> StopsAsync(CancellationToken cancellationToken)
    {
        var cached = _stops;
        if (cached is not null)
        {
            var age = _time.GetElapsedTime(cached.Item2).TotalSeconds;
            if (age < _options.StopsRefreshSeconds) return cached.Item1;
            // stale: re-read in the background, unless so stale (an idle instance) that a stop could have been missed
            if (age < 2 * _options.StopsRefreshSeconds)
            {
                _ = RefreshStopsInBackgroundAsync();
                return cached.Item1;
            }
        }

        return await RefreshStopsAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RefreshStopsInBackgroundAsync()
    {
        try
        {
            await RefreshStopsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // the cached list stays in force; the next request tries again
        }
    }

    private async Task<StopListState> RefreshStopsAsync(CancellationToken cancellationToken) => (await _stopsRead.RunAsync(cancellationToken).ConfigureAwait(false)).Item1;

    private async Task<Tuple<StopListState, long>> LoadStopsAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var (state, _) = await _stopList.ReadAsync(StopsEntityKind.Key, cancellationToken).ConfigureAwait(false);
        var read = Tuple.Create(state ?? new StopListState(), started);
        if (_stops is not { } current || current.Item2 < started) _stops = read;
        return read;
    }

    /// <summary>Stops or resumes a model or provider (admin) and returns the list after the change.</summary>
    public async Task<StopListState> ChangeStopsAsync(StopCommand command, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var state = await _stopList.AskAsync(StopsEntityKind.Key, command, maxWait, cancellationToken).ConfigureAwait(false)
            ?? throw new TimeoutException($"The stop list did not answer within {maxWait.TotalSeconds} s.");
        Invalidate();
        return state;
    }

    /// <summary>The stop list as stored now (one read).</summary>
    public async Task<StopListState> ReadStopsAsync(CancellationToken cancellationToken) =>
        (await _stopList.ReadAsync(StopsEntityKind.Key, cancellationToken).ConfigureAwait(false)).State ?? new StopListState();

    /// <summary>Takes room for one request of <paramref name="tokens"/> for <paramref name="key"/> on a deployment, waiting at most <paramref name="maxWait"/>.</summary>
    public async ValueTask<UpstreamAdmission> AdmitAsync(DeploymentOptions deployment, string key, long tokens, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (deployment.RequestsPerMinute is null && deployment.TokensPerMinute is null) return UpstreamAdmission.Yes;
        var allotment = _allotments.GetOrAdd((deployment.Name, key), _ => new Entities.Allotment(_time, TimeSpan.FromSeconds(_options.AllotmentSeconds)));
        var deadline = _time.GetTimestamp() + (long)(Math.Max(0, maxWait.TotalSeconds) * _time.TimestampFrequency);
        var grant = await allotment.AdmitAsync(tokens, deadline,
            async demand =>
            {
                var (requests, batchTokens) = Batch(deployment, tokens, demand);
                var reply = await TakeAsync(deployment, key, requests, batchTokens, tokens, TimeSpan.FromSeconds(Math.Max(5, _options.AllotmentSeconds * 5))).ConfigureAwait(false)
                    ?? throw new TimeoutException($"The upstream counter of '{deployment.Name}' did not answer.");
                return new Entities.CounterGrant(reply.Allowed, reply.GrantedRequests, reply.GrantedTokens, reply.RetryAfter, reply.Plenty);
            },
            async wait =>
            {
                var reply = await TakeAsync(deployment, key, 1, tokens, 0, wait).ConfigureAwait(false);
                if (reply is null) return null;
                allotment.Observe(reply.Plenty);
                return new Entities.CounterGrant(reply.Allowed, reply.GrantedRequests, reply.GrantedTokens, reply.RetryAfter, reply.Plenty);
            }, cancellationToken).ConfigureAwait(false);
        if (grant is null) return new UpstreamAdmission(false, TimeSpan.FromSeconds(1), null) { Undecided = true };
        return grant.Value.Allowed ? UpstreamAdmission.Yes : new UpstreamAdmission(false, grant.Value.RetryAfter ?? TimeSpan.FromSeconds(1), null);
    }

    /// <summary>
    /// A share of the deployment's quota (requests and tokens in proportion), at most what this instance's demand calls
    /// for (<paramref name="demand"/>, when known), at least this one request.
    /// </summary>
    private (long Requests, long Tokens) Batch(DeploymentOptions d, long tokens, long? demand)
    {
        var requests = d.RequestsPerMinute is { } rpm ? Math.Max(1, (long)(rpm * _options.AllotmentShare)) : long.MaxValue;
        if (d.TokensPerMinute is { } tpm) requests = Math.Min(requests, Math.Max(1, (long)(tpm * _options.AllotmentShare) / Math.Max(1, tokens)));
        if (demand is { } wanted) requests = Math.Max(1, Math.Min(requests, wanted));
        return (requests, tokens * requests);
    }

    private Task<UpstreamResult?> TakeAsync(DeploymentOptions d, string key, long requests, long tokens, long fallbackTokens, TimeSpan wait)
    {
        var command = new UpstreamCommand
        {
            Op = UpstreamOp.Take,
            RequestsPerMinute = d.RequestsPerMinute,
            TokensPerMinute = d.TokensPerMinute,
            Key = key,
            Requests = requests,
            Tokens = tokens,
            FallbackRequests = requests > 1 ? 1 : 0,
            FallbackTokens = requests > 1 ? fallbackTokens : 0,
            DecideBy = _time.GetUtcNow() + wait,
        };
        // a batch is one ask per (deployment, key); single requests near the share are grouped with their concurrent neighbours
        return requests > 1
            ? _counters.AskAsync(d.Name, command, wait, CancellationToken.None)
            : _counters.AskGroupedAsync(d.Name, command, wait, late =>
            {
                // granted after the request stopped waiting: give the room back
                if (late.Allowed) _ = RefundInBackgroundAsync(d, key, 1, tokens);
            });
    }

    private async Task RefundInBackgroundAsync(DeploymentOptions d, string key, long requests, long tokens)
    {
        try
        {
            await _counters.SignalGroupedAsync(d.Name, new UpstreamCommand
            {
                Op = UpstreamOp.Refund, RequestsPerMinute = d.RequestsPerMinute, TokensPerMinute = d.TokensPerMinute, Key = key, Requests = requests, Tokens = tokens,
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // a refund that cannot be sent only leaves the quota a little stricter for this minute
        }
    }

    /// <summary>Gives back tokens counted up front but not used (real count below the estimate), in the background.</summary>
    public void Refund(DeploymentOptions deployment, string key, long unusedTokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (deployment.TokensPerMinute is null || unusedTokens <= 0) return;
        _ = RefundInBackgroundAsync(deployment, key, 0, unusedTokens);
    }
}
