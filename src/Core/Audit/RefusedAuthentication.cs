using System.Globalization;

namespace Gateway.Core.Audit;

/// <summary>
/// Refused authentication, aggregated so a flood cannot flood the log: refusals are counted per (source, reason,
/// minute) in memory and each minute's counts become one <c>auth.refused</c> event per source once the minute is over
/// (at most <see cref="AuditOptions.MaxRefusalSourcesPerMinute"/> sources a minute; the rest count under
/// <c>other</c>). A presented key is never kept — only its display prefix would say anything, and not even that is.
/// The event id names the instance, source and minute, so a minute flushed twice is appended once.
/// </summary>
public sealed class RefusedAuthentication(IAuditSink sink, TimeProvider time, int maxSourcesPerMinute, string instance)
{
    public const string Other = "other";

    private readonly Lock _gate = new();
    private readonly Dictionary<(DateTimeOffset Minute, string Source, string Reason), long> _counts = [];
    private readonly HashSet<(DateTimeOffset, string)> _sources = [];

    /// <summary>Counts one refusal (<paramref name="reason"/>: <c>missing_key</c>, <c>invalid_key</c>, <c>invalid_admin_key</c>…), flushing finished minutes.</summary>
    public void Count(string? source, string reason)
    {
        var now = time.GetUtcNow();
        var minute = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var who = string.IsNullOrWhiteSpace(source) ? "unknown" : source.Trim();
        lock (_gate)
        {
            if (!_sources.Contains((minute, who)))
            {
                if (_sources.Count(s => s.Item1 == minute) >= maxSourcesPerMinute) who = Other;
                _sources.Add((minute, who));
            }

            _counts[(minute, who, reason)] = _counts.GetValueOrDefault((minute, who, reason)) + 1;
        }

        Flush(minute);
    }

    /// <summary>Emits every minute before <paramref name="before"/> (the current minute by default: only finished ones).</summary>
    public void Flush(DateTimeOffset? before = null)
    {
        var now = time.GetUtcNow();
        var cutoff = before ?? new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        List<IGrouping<(DateTimeOffset Minute, string Source), KeyValuePair<(DateTimeOffset Minute, string Source, string Reason), long>>> done;
        lock (_gate)
        {
            if (_counts.Count == 0 || _counts.Keys.All(k => k.Minute >= cutoff)) return;
            done = [.. _counts.Where(kv => kv.Key.Minute < cutoff).GroupBy(kv => (kv.Key.Minute, kv.Key.Source))];
            foreach (var group in done)
            {
                foreach (var kv in group) _counts.Remove(kv.Key);
                _sources.Remove(group.Key);
            }
        }

        foreach (var group in done)
        {
            var minute = group.Key.Minute.ToString("yyyy-MM-ddTHH:mmZ", CultureInfo.InvariantCulture);
            var details = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["source"] = group.Key.Source,
                ["minute"] = minute,
                ["count"] = group.Sum(kv => kv.Value).ToString(CultureInfo.InvariantCulture),
            };
            foreach (var kv in group) details["reason." + kv.Key.Reason] = kv.Value.ToString(CultureInfo.InvariantCulture);
            sink.Record(new AuditEvent
            {
                Id = $"auth:{instance}:{group.Key.Source}:{minute}",
                At = group.Key.Minute.AddMinutes(1),
                Type = AuditEventTypes.AuthRefused,
                Actor = "gateway",
                Scope = "global",
                Details = details,
            });
        }
    }
}
