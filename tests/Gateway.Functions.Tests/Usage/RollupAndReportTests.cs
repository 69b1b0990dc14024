using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Gateway.Core.Usage;
using Gateway.Storage;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Functions.Tests.Usage;

/// <summary>Rollups, retention, reports and exports against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RollupAndReportTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T12:00:00Z");
    private readonly FakeTimeProvider _time = new(Now);

    private sealed record Setup(TableUsageStore Records, TableRollupStore Rollups, TableClient RollupTable, RollupJob Job, UsageReportService Reports, UsageRetentionOptions Retention);

    private Setup NewSetup(UsageRetentionOptions? retention = null)
    {
        var connection = StorageConnection.FromConnectionString(azurite.ConnectionString);
        var name = azurite.UniqueName("ru");
        retention ??= new UsageRetentionOptions();
        var records = new TableUsageStore(connection.Table(name), connection.Table(name + "dirty"));
        var rollupTable = connection.Table(name + "rollups");
        var rollups = new TableRollupStore(rollupTable);
        // The records below are written "late" in bulk; roll them up as if they had arrived while still fresh.
        var job = new RollupJob(records, rollups, _time, new UsageRetentionOptions { RawRetentionDays = 3650 });
        return new Setup(records, rollups, rollupTable, job, new UsageReportService(rollups, _time, retention), retention);
    }

    private static UsageReportQuery Query(string from, string to, string groupBy = "all", string? value = null, string interval = "total") =>
        UsageReportQuery.Parse(
            n => n switch { "from" => from, "to" => to, "group_by" => groupBy, "value" => value, "interval" => interval, _ => null },
            c => c == "USD");

    private static async Task<List<(string, string, string)>> Snapshot(TableClient table)
    {
        var rows = new List<(string, string, string)>();
        await foreach (var e in table.QueryAsync<TableEntity>())
        {
            rows.Add((e.PartitionKey, e.RowKey, string.Join(";", e.Where(kv => kv.Key is not ("Timestamp" or "odata.etag")).OrderBy(kv => kv.Key).Select(kv => kv.Key + "=" + kv.Value))));
        }

        return [.. rows.Order()];
    }

    [Fact]
    public async Task Rollups_equal_the_raw_records_for_every_dimension_and_rerunning_changes_nothing()
    {
        var s = NewSetup();
        var records = UsageData.Spread(400, DateTimeOffset.Parse("2026-11-23T22:10:00Z"), TimeSpan.FromHours(30));
        await s.Records.WriteAsync(records, default);

        var first = await s.Job.RunAsync(default);
        Assert.True(first.Buckets > 100);
        Assert.Equal(0, first.LeftDirty);
        Assert.Empty(await s.Records.ReadDirtyAsync(default));
        var before = await Snapshot(s.RollupTable);

        var again = await s.Job.RunAsync(default);
        Assert.Equal(0, again.Buckets);
        Assert.Equal(before, await Snapshot(s.RollupTable));

        // Marking everything dirty again and recomputing gives identical rows too.
        await s.Records.WriteAsync(records, default);
        await s.Job.RunAsync(default);
        Assert.Equal(before, await Snapshot(s.RollupTable));

        // Totals by team over the whole range (days in the middle, hours and 5-minute buckets at the edges).
        var report = await s.Reports.QueryAsync(Query("2026-11-23T22:10:00Z", "2026-11-25T04:10:00Z", "team"), default);
        foreach (var team in records.GroupBy(r => r.Team!))
        {
            var group = report.Groups.Single(g => g.Value == team.Key);
            Assert.Equal(team.Count(), group.Totals.Requests);
            Assert.Equal(team.Sum(r => r.CostUsd), group.Totals.CostUsd);
            Assert.Equal(team.Sum(r => r.PromptTokens), group.Totals.PromptTokens);
            Assert.Equal(team.Count(r => r.IsError), group.Totals.Errors);
            Assert.Equal(team.Count(r => r.IsCacheHit), group.Totals.CacheHits);
            Assert.Equal(team.Sum(r => r.SavedUsd), group.Totals.SavedUsd);
            Assert.Equal(team.Count(r => r.IsLimitRefusal), group.Totals.RateLimited);
            Assert.Equal(team.Count(r => r.IsSafetyBlock), group.Totals.SafetyBlocks);
        }

        // the counters are there to find, not zero by accident
        Assert.True(records.Count(r => r.IsCacheHit) > 10 && records.Count(r => r.IsLimitRefusal) > 5 && records.Count(r => r.IsSafetyBlock) > 5);

        Assert.Equal(records.Sum(r => r.CostUsd), report.Totals.CostUsd);
        var tags = await s.Reports.QueryAsync(Query("2026-11-23T22:10:00Z", "2026-11-25T04:10:00Z", "tag", "feature=search/v2"), default);
        Assert.Equal(records.Count(r => r.Tags.GetValueOrDefault("feature") == "search/v2"), Assert.Single(tags.Groups).Totals.Requests);
    }

    [Theory]
    [InlineData("2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z")]
    [InlineData("2026-11-23T23:35:00Z", "2026-11-24T01:05:00Z")]
    [InlineData("2026-11-24T10:20:00Z", "2026-11-24T10:25:00Z")]
    [InlineData("2026-11-23T22:00:00Z", "2026-11-25T05:00:00Z")]
    [InlineData("2026-11-24T13:07:00Z", "2026-11-24T19:58:30Z")]
    public async Task Any_range_and_interval_matches_the_raw_records_exactly(string from, string to)
    {
        var s = NewSetup();
        var records = UsageData.Spread(300, DateTimeOffset.Parse("2026-11-23T22:00:00Z"), TimeSpan.FromHours(31), seed: 3);
        await s.Records.WriteAsync(records, default);
        await s.Job.RunAsync(default);

        foreach (var interval in new[] { "total", "day", "hour" })
        {
            var query = Query(from, to, "model", interval: interval);
            var report = await s.Reports.QueryAsync(query, default);
            var inRange = records.Where(r => r.At >= query.From && r.At < query.To).ToList();
            Assert.Equal(inRange.Count, report.Totals.Requests);
            Assert.Equal(inRange.Sum(r => r.CostUsd), report.Totals.CostUsd);
            if (interval == "hour")
            {
                foreach (var group in report.Groups)
                {
                    foreach (var (start, totals) in group.Series)
                    {
                        Assert.Equal(inRange.Count(r => r.ModelRequested == group.Value && UsageBuckets.Floor(r.At, Granularity.Hour) == start), totals.Requests);
                    }
                }
            }
        }
    }

    [Fact]
    public async Task A_late_record_is_folded_into_its_old_bucket()
    {
        var s = NewSetup();
        var records = UsageData.Spread(50, DateTimeOffset.Parse("2026-11-24T08:00:00Z"), TimeSpan.FromHours(2));
        await s.Records.WriteAsync(records, default);
        await s.Job.RunAsync(default);
        var late = UsageData.Spread(1, DateTimeOffset.Parse("2026-11-24T08:31:00Z"), TimeSpan.FromSeconds(1), seed: 1234)[0] with { CostUsd = 1.5m, Team = "late-team" };
        await s.Records.WriteAsync([late], default);
        var run = await s.Job.RunAsync(default);
        Assert.Equal(1, run.Buckets);

        var day = await s.Reports.QueryAsync(Query("2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"), default);
        Assert.Equal(records.Sum(r => r.CostUsd) + 1.5m, day.Totals.CostUsd);
        Assert.Equal(51, day.Totals.Requests);
        var team = await s.Reports.QueryAsync(Query("2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z", "team", "late-team"), default);
        Assert.Equal(1.5m, Assert.Single(team.Groups).Totals.CostUsd);
    }

    [Fact]
    public async Task Retention_deletes_what_is_older_than_the_window_and_nothing_inside_it()
    {
        var retention = new UsageRetentionOptions { RawRetentionDays = 2, FiveMinuteRollupRetentionDays = 1, RollupRetentionDays = 3 };
        var s = NewSetup(retention);
        // Records from 4 days ago up to now; the raw cutoff is 2026-11-23T12:00Z.
        var records = UsageData.Spread(300, Now - TimeSpan.FromDays(4), TimeSpan.FromDays(4), seed: 5);
        await s.Records.WriteAsync(records, default);
        await s.Job.RunAsync(default);

        var result = await new RetentionJob(s.Records, s.Rollups, _time, retention).RunAsync(default);
        var cutoff = DateTimeOffset.Parse("2026-11-23T12:00:00Z");
        var kept = new List<UsageRecord>();
        await foreach (var r in s.Records.ReadRangeAsync(Now - TimeSpan.FromDays(10), Now + TimeSpan.FromDays(1), default)) kept.Add(r);
        Assert.Equal(records.Count(r => r.At >= cutoff), kept.Count);
        Assert.Equal(records.Count(r => r.At < cutoff), result.RawDeleted);
        Assert.True(result.FiveMinuteRowsDeleted > 0);
        Assert.True(result.DayRowsDeleted > 0);

        // Daily rollups within their 3-day window still answer for days whose raw records are gone.
        var report = await s.Reports.QueryAsync(Query("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"), default);
        Assert.Equal(records.Count(r => r.At >= DateTimeOffset.Parse("2026-11-22T00:00:00Z") && r.At < DateTimeOffset.Parse("2026-11-23T00:00:00Z")), report.Totals.Requests);
        // A 5-minute edge older than the fine window is refused rather than answered wrongly.
        var ex = await Assert.ThrowsAsync<Gateway.Core.Errors.GatewayException>(() => s.Reports.QueryAsync(Query("2026-11-22T00:05:00Z", "2026-11-23T00:00:00Z"), default));
        Assert.Equal(400, ex.Error.Status);
    }

    [Fact]
    public async Task Exports_stream_every_record_in_range_as_csv_and_json()
    {
        var s = NewSetup();
        var records = UsageData.Spread(1200, DateTimeOffset.Parse("2026-11-24T00:00:00Z"), TimeSpan.FromHours(6), seed: 9);
        records[3] = records[3] with { User = "=HYPERLINK(\"http://evil\")", KeyName = "a,b" };
        await s.Records.WriteAsync(records, default);
        var from = DateTimeOffset.Parse("2026-11-24T01:00:00Z");
        var to = DateTimeOffset.Parse("2026-11-24T04:00:00Z");
        var expected = records.Where(r => r.At >= from && r.At < to).ToList();

        using var csv = new MemoryStream();
        var written = await UsageExport.WriteCsvAsync(s.Records.ReadRangeAsync(from, to, default), csv, default);
        Assert.Equal(expected.Count, written);
        var lines = Encoding.UTF8.GetString(csv.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Count + 1, lines.Length);
        Assert.StartsWith("request_id,client_request_id,at,", lines[0], StringComparison.Ordinal);

        using var json = new MemoryStream();
        await UsageExport.WriteJsonAsync(s.Records.ReadRangeAsync(from, to, default), json, default);
        var parsed = JsonSerializer.Deserialize<List<JsonElement>>(json.ToArray())!;
        Assert.Equal(expected.Select(r => r.RequestId).Order(), parsed.Select(e => e.GetProperty("requestId").GetString()!).Order());
        Assert.Equal(expected.Sum(r => r.CostUsd), parsed.Sum(e => e.GetProperty("costUsd").GetDecimal()));
    }
}
