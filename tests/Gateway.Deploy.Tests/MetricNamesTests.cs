using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Gateway.Core.Budgets;
using Gateway.Core.Resilience;
using Gateway.Core.Telemetry;
using Gateway.Core.Usage;

namespace Gateway.Deploy.Tests;

/// <summary>
/// The alert rules, the workbook and the runbook's queries read what the gateway emits: every metric name they filter on
/// is an instrument of the LlmGateway meter (or, for AppRequests/AppExceptions, a function of the app), and every
/// Properties["…"] dimension is a tag the gateway puts on its measurements.
/// </summary>
public sealed partial class MetricNamesTests
{
    private static (HashSet<string> Instruments, HashSet<string> Tags) Emitted()
    {
        using var metrics = new GatewayMetrics();
        var instruments = new HashSet<string>();
        var tags = new HashSet<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter != metrics.Meter) return;
            instruments.Add(instrument.Name);
            l.EnableMeasurementEvents(instrument);
        };
        void On<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> measurementTags, object? state) where T : struct
        {
            foreach (var tag in measurementTags) tags.Add(tag.Key);
        }

        listener.SetMeasurementEventCallback<long>(On);
        listener.SetMeasurementEventCallback<int>(On);
        listener.SetMeasurementEventCallback<double>(On);
        listener.Start();
        // one of everything: a failed streamed request answered by a fallback, a cache hit, a breaker opening, a budget alert
        metrics.Record(new UsageRecord
        {
            RequestId = "r", At = DateTimeOffset.UnixEpoch, KeyId = "k", ModelRequested = "m", ModelServed = "m2", Provider = "openai", Deployment = "d",
            Outcome = UsageOutcomes.Success, Status = 200, PromptTokens = 3, CompletionTokens = 4, CostUsd = 0.1m, SavedUsd = 0.1m, CacheStatus = "hit",
            Attempts = 2, FallbackModel = "m2", Stream = true, TimeToFirstTokenMs = 5, InterTokenP50Ms = 1, StreamDurationMs = 9, OutputTokensPerSecond = 3,
            StreamRecoveries = 1,
        });
        metrics.Record(new UsageRecord { RequestId = "e", At = DateTimeOffset.UnixEpoch, KeyId = "k", ModelRequested = "m", Outcome = "error", Status = 502, ErrorCode = "upstream_error" });
        metrics.Record(new BreakerEvent("d", Polly.CircuitBreaker.CircuitState.Open, DateTimeOffset.UnixEpoch));
        metrics.RecordBudgetAlert(new BudgetAlert(BudgetScope.Global, 0.8m, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 8, 10, DateTimeOffset.UnixEpoch));
        metrics.RecordSafetyUnavailable("timeout");
        return (instruments, tags);
    }

    private static IEnumerable<(string Source, string Query)> Queries()
    {
        foreach (Match m in BicepQueryRegex().Matches(Repo.Read("infra/bicep/modules/alerts.bicep"))) yield return ("alerts.bicep", m.Groups[1].Value.Replace("\\'", "'", StringComparison.Ordinal));
        using var workbook = System.Text.Json.JsonDocument.Parse(Repo.Read("infra/bicep/workbooks/performance.json"));
        foreach (var item in workbook.RootElement.GetProperty("items").EnumerateArray())
            if (item.GetProperty("type").GetInt32() == 3) yield return ("performance.json", item.GetProperty("content").GetProperty("query").GetString()!);
        foreach (var block in Repo.Blocks(Repo.Read("docs/runbook.md"), "kusto")) yield return ("runbook.md", block);
    }

    [Fact]
    public void Every_query_reads_metrics_and_dimensions_the_gateway_emits()
    {
        var (instruments, tags) = Emitted();
        var functions = Repo.FunctionNames();
        Assert.Contains("llm_gateway.budget.alerts", instruments);
        var queries = Queries().ToList();
        Assert.Equal(5, queries.Count(q => q.Source == "alerts.bicep"));
        Assert.True(queries.Count(q => q.Source == "performance.json") >= 15);
        foreach (var (source, query) in queries)
        {
            var table = query.TrimStart().Split(' ', '\n')[0];
            Assert.Contains(table, new[] { "AppMetrics", "AppRequests", "AppExceptions", "StorageQueueLogs" });
            foreach (var name in NamesIn(query))
            {
                var known = table == "AppMetrics" ? instruments : functions;
                Assert.True(known.Contains(name), $"{source}: {table} query names '{name}', which the gateway does not emit: {query}");
            }

            foreach (Match p in PropertyRegex().Matches(query))
                Assert.True(tags.Contains(p.Groups[1].Value), $"{source}: dimension '{p.Groups[1].Value}' is not a tag the gateway emits: {query}");
        }
    }

    /// <summary>The names after Name ==, Name in (…) and OperationName in (…).</summary>
    private static IEnumerable<string> NamesIn(string query)
    {
        foreach (Match m in NameEqualsRegex().Matches(query)) yield return m.Groups[1].Value;
        foreach (Match m in NameInRegex().Matches(query))
            foreach (Match s in QuotedRegex().Matches(m.Groups[1].Value)) yield return s.Groups[1].Value;
    }

    [Fact]
    public void The_workbook_is_a_workbook_with_every_section_over_the_workspace()
    {
        using var workbook = System.Text.Json.JsonDocument.Parse(Repo.Read("infra/bicep/workbooks/performance.json"));
        Assert.Equal("Notebook/1.0", workbook.RootElement.GetProperty("version").GetString());
        var text = workbook.RootElement.ToString();
        foreach (var section in new[] { "## Latency", "## Throughput", "## Errors", "## Cost", "## Cache", "## Limits" }) Assert.Contains(section, text, StringComparison.Ordinal);
        Assert.Contains("__WORKSPACE_ID__", text, StringComparison.Ordinal);
        Assert.Contains("replace(loadTextContent('../workbooks/performance.json'), '__WORKSPACE_ID__', workspaceId)", Repo.Read("infra/bicep/modules/workbook.bicep"), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"query: '((?:[^'\\]|\\.)*)'")]
    private static partial Regex BicepQueryRegex();

    [GeneratedRegex(@"(?<![A-Za-z])Name == ""([^""]+)""")]
    private static partial Regex NameEqualsRegex();

    [GeneratedRegex(@"(?:Name|OperationName) in \(([^)]*)\)")]
    private static partial Regex NameInRegex();

    [GeneratedRegex(@"""([^""]+)""")]
    private static partial Regex QuotedRegex();

    [GeneratedRegex(@"Properties\[""([^""]+)""\]")]
    private static partial Regex PropertyRegex();
}
