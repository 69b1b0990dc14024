namespace Gateway.Core.Analytics;

/// <summary>Stored snapshots, one JSON document per UTC day.</summary>
public interface IAnalyticsSnapshotStore
{
    /// <summary>The stored snapshot of the day, or null when there is none.</summary>
    Task<string?> ReadAsync(DateOnly date, CancellationToken cancellationToken);

    /// <summary>Stores (replaces) the snapshot of the day.</summary>
    Task WriteAsync(DateOnly date, string json, CancellationToken cancellationToken);
}

/// <summary>What one daily run did.</summary>
public sealed record DailySnapshotResult(DateOnly Date, int Scopes, int Anomalies, int BudgetsAtRisk, int AlertsSent, int AlertsAlreadySent);

/// <summary>
/// Daily snapshots: the timer's run (compute the day, store it, send the alerts not sent before) and the route's answer
/// (the stored snapshot, computed and stored when missing). Re-running a day replaces its snapshot with the same content
/// (late records included) and sends no alert twice.
/// </summary>
public sealed class AnalyticsSnapshotService(SpendAnalytics analytics, IAnalyticsSnapshotStore store, IAnalyticsAlertSink alerts, IAlertLedger ledger, TimeProvider time)
{
    /// <summary>The day a daily run covers: yesterday (UTC), the last complete day.</summary>
    public DateOnly LastCompleteDay => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-1);

    public Task<DailySnapshotResult> RunDailyAsync(CancellationToken cancellationToken) => RunAsync(LastCompleteDay, cancellationToken);

    public async Task<DailySnapshotResult> RunAsync(DateOnly date, CancellationToken cancellationToken)
    {
        var snapshot = await analytics.ComputeAsync(date, null, cancellationToken).ConfigureAwait(false);
        await store.WriteAsync(date, AnalyticsJson.Serialize(snapshot), cancellationToken).ConfigureAwait(false);
        var sent = 0;
        var already = 0;
        foreach (var alert in AnalyticsAlerts.From(snapshot, analytics.Options, time.GetUtcNow()))
        {
            if (await ledger.ContainsAsync(alert.Id, cancellationToken).ConfigureAwait(false))
            {
                already++;
                continue;
            }

            // sent, then noted: a crash in between sends it once more with the same id, which receivers deduplicate
            await alerts.PublishAsync([alert], cancellationToken).ConfigureAwait(false);
            await ledger.AddAsync(alert.Id, cancellationToken).ConfigureAwait(false);
            sent++;
        }

        return new DailySnapshotResult(date, snapshot.Trends.Count, snapshot.Anomalies.Count, snapshot.Budgets.Count(b => b.AtRisk), sent, already);
    }

    /// <summary>
    /// The snapshot a query asks for: the stored one (computed and stored when missing, or when <c>refresh</c> is asked),
    /// narrowed to the query's scope. A named scope the stored snapshot left out (beyond the dimension's top scopes) is
    /// computed for that scope alone.
    /// </summary>
    public async Task<AnalyticsSnapshot> GetAsync(AnalyticsQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var snapshot = query.Refresh ? null : await ReadAsync(query.Date, cancellationToken).ConfigureAwait(false);
        if (snapshot is null)
        {
            snapshot = await analytics.ComputeAsync(query.Date, null, cancellationToken).ConfigureAwait(false);
            await store.WriteAsync(query.Date, AnalyticsJson.Serialize(snapshot), cancellationToken).ConfigureAwait(false);
        }

        if (query.Scope is not { } scope) return snapshot;
        var narrowed = snapshot.For(scope);
        var leftOut = scope.Value is not null && narrowed.Trends.Count == 0
            && snapshot.Coverage.Any(c => c.Dimension == scope.Dimension && c.Included < c.Scopes);
        if (!leftOut) return narrowed;
        var own = await analytics.ComputeAsync(query.Date, scope, cancellationToken).ConfigureAwait(false);
        return own with { Coverage = narrowed.Coverage, Top = narrowed.Top };
    }

    private async Task<AnalyticsSnapshot?> ReadAsync(DateOnly date, CancellationToken cancellationToken) =>
        await store.ReadAsync(date, cancellationToken).ConfigureAwait(false) is { } json ? AnalyticsJson.Deserialize(json) : null;
}
