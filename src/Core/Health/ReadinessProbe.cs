using System.Globalization;
using Gateway.Core.Entities;

namespace Gateway.Core.Health;

/// <summary>
/// Answers <c>GET /health/ready</c>. The dependency checks run in parallel, each given at most
/// <see cref="HealthOptions.CheckTimeoutSeconds"/> (then it counts as unhealthy and is cancelled), so the route never waits
/// longer than that. Their results are reused for <see cref="HealthOptions.CacheSeconds"/> after a run ends, and probes that
/// arrive during a run join it, so load balancer probes cost one set of storage calls per interval. The deployments'
/// states are read from memory on every call: they cost nothing, and an opened circuit shows at once.
/// </summary>
public sealed class ReadinessProbe
{
    private readonly IReadOnlyList<IHealthCheck> _checks;
    private readonly Func<IReadOnlyList<DeploymentHealth>> _deployments;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _reuseFor;
    private readonly SingleFlight<Run> _run;
    private readonly Action<HealthStatus, IReadOnlyList<HealthCheckResult>>? _changed;
    private volatile Run? _last;
    private int _runs;

    /// <param name="changed">Told when a run's combined check status differs from the run before (the first run counts as a change from healthy).</param>
    public ReadinessProbe(IEnumerable<IHealthCheck> checks, Func<IReadOnlyList<DeploymentHealth>> deployments, HealthOptions options, TimeProvider time,
        Action<HealthStatus, IReadOnlyList<HealthCheckResult>>? changed = null)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        _checks = [.. checks];
        _deployments = deployments ?? throw new ArgumentNullException(nameof(deployments));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _timeout = TimeSpan.FromSeconds(options.CheckTimeoutSeconds);
        _reuseFor = TimeSpan.FromSeconds(options.CacheSeconds);
        _run = new SingleFlight<Run>(_ => RunChecksAsync(), time);
        _changed = changed;
    }

    /// <summary>How many times the dependency checks have run (each run calls every check once).</summary>
    public int Runs => Volatile.Read(ref _runs);

    public async Task<ReadinessReport> ReportAsync(CancellationToken cancellationToken)
    {
        var run = _last;
        if (run is null || _time.GetElapsedTime(run.Ended) >= _reuseFor)
            run = await _run.RunAsync(cancellationToken).ConfigureAwait(false);
        return ReadinessReport.Create(run.Results, _deployments(), run.CheckedAt);
    }

    private async Task<Run> RunChecksAsync()
    {
        Interlocked.Increment(ref _runs);
        var checkedAt = _time.GetUtcNow();
        var results = await Task.WhenAll(_checks.Select(RunAsync)).ConfigureAwait(false);
        var run = new Run(results, checkedAt, _time.GetTimestamp());
        var before = _last is { } last ? ReadinessReport.Combine(last.Results, []) : HealthStatus.Healthy;
        _last = run;
        var now = ReadinessReport.Combine(results, []);
        if (now != before) _changed?.Invoke(now, results);
        return run;
    }

    private async Task<HealthCheckResult> RunAsync(IHealthCheck check)
    {
        var started = _time.GetTimestamp();
        using var stop = new CancellationTokenSource();
        // on the thread pool: a check that blocks before its first await still cannot hold the route past the deadline
        var probing = Task.Run(async () =>
        {
            HealthProbe probe;
            try
            {
                probe = await check.CheckAsync(stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // an exception's message may name an account, a host or a key: only its type is shown
                probe = HealthProbe.Unhealthy("failed: " + ex.GetType().Name);
            }

            return (Probe: probe, Took: _time.GetElapsedTime(started));
        }, CancellationToken.None);
        var deadline = Task.Delay(_timeout, _time, stop.Token);
        var answered = await Task.WhenAny(probing, deadline).ConfigureAwait(false) == probing;
        await stop.CancelAsync().ConfigureAwait(false);
        if (answered)
        {
            var (probe, took) = await probing.ConfigureAwait(false);
            return new HealthCheckResult(check.Name, probe.Status, took, probe.Detail);
        }

        return new HealthCheckResult(check.Name, HealthStatus.Unhealthy, _timeout,
            $"no answer within {_timeout.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms");
    }

    private sealed record Run(IReadOnlyList<HealthCheckResult> Results, DateTimeOffset CheckedAt, long Ended);
}
