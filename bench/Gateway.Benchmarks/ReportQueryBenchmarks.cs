using BenchmarkDotNet.Attributes;
using Gateway.Core.Usage;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.Benchmarks;

/// <summary>
/// Report queries answered from rollups in Table Storage (Azurite on loopback), over a seeded year: daily and monthly rows for
/// every dimension (10 teams, 40 keys, 60 users, 6 models, 3 providers, 8 deployments, 12 tags), plus hourly and
/// 5-minute rows for the edge days so ranges that do not start on a day boundary are exact.
/// Run: <c>dotnet run -c Release --project bench/Gateway.Benchmarks -- --filter *ReportQuery*</c>
/// (uses GATEWAY_TEST_STORAGE if set, else starts Azurite from node_modules).
/// </summary>
[MemoryDiagnoser]
public class ReportQueryBenchmarks
{
    private static readonly DateTimeOffset YearStart = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private AzuriteFixture _azurite = null!;
    private UsageReportService _reports = null!;

    [GlobalSetup]
    public void Setup()
    {
        _azurite = new AzuriteFixture();
        _azurite.InitializeAsync().GetAwaiter().GetResult();
        var connection = StorageConnection.FromConnectionString(_azurite.ConnectionString);
        var rollups = new TableRollupStore(connection.Table(_azurite.UniqueName("benchrollups")));
        Seed(rollups).GetAwaiter().GetResult();
        var now = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(YearStart.AddDays(366));
        _reports = new UsageReportService(rollups, now, new UsageRetentionOptions { FiveMinuteRollupRetentionDays = 400, RawRetentionDays = 400 });
    }

    [GlobalCleanup]
    public void Cleanup() => _azurite.DisposeAsync().GetAwaiter().GetResult();

    private static async Task Seed(TableRollupStore rollups)
    {
        var values = new Dictionary<string, int>
        {
            [UsageDimensions.All] = 1, [UsageDimensions.Team] = 10, [UsageDimensions.Key] = 40, [UsageDimensions.User] = 60, [UsageDimensions.Model] = 6,
            [UsageDimensions.ServedModel] = 6, [UsageDimensions.Provider] = 3, [UsageDimensions.Deployment] = 8, [UsageDimensions.Tag] = 12,
        };
        var random = new Random(1);
        UsageAggregate Totals() => new() { Requests = random.Next(100, 10_000), PromptTokens = random.Next(1_000_000), CompletionTokens = random.Next(100_000), CostUsd = random.Next(1, 100_000_000) / 1_000_000m };
        var rows = new List<RollupRow>();
        for (var day = 0; day < 365; day++)
        {
            foreach (var (dimension, count) in values)
            {
                for (var v = 0; v < count; v++) rows.Add(new RollupRow(Granularity.Day, YearStart.AddDays(day), dimension, dimension == UsageDimensions.All ? "*" : dimension + v, Totals()));
            }
        }

        // Months, as the rollup job computes them: the sum of their days.
        rows.AddRange(rows.Where(r => r.Granularity == Granularity.Day)
            .GroupBy(r => (Month: UsageBuckets.Floor(r.Start, Granularity.Month), r.Dimension, r.Value))
            .Select(g =>
            {
                var sum = new UsageAggregate();
                foreach (var r in g) sum.Add(r.Totals);
                return new RollupRow(Granularity.Month, g.Key.Month, g.Key.Dimension, g.Key.Value, sum);
            }).ToList());

        // Edge days for the off-boundary query: hours of 2025-03-14 and 2025-11-02, 5-minute buckets of two hours.
        foreach (var edge in new[] { YearStart.AddDays(72), YearStart.AddDays(305) })
        {
            for (var h = 0; h < 24; h++)
            {
                for (var v = 0; v < 10; v++) rows.Add(new RollupRow(Granularity.Hour, edge.AddHours(h), UsageDimensions.Team, UsageDimensions.Team + v, Totals()));
            }

            for (var m = 0; m < 12; m++)
            {
                for (var v = 0; v < 10; v++) rows.Add(new RollupRow(Granularity.FiveMinutes, edge.AddHours(13).AddMinutes(5 * m), UsageDimensions.Team, UsageDimensions.Team + v, Totals()));
            }
        }

        foreach (var chunk in rows.Chunk(2000)) await rollups.UpsertAsync(chunk, CancellationToken.None);
    }

    private static UsageReportQuery Query(string from, string to, string groupBy, string interval = "total") =>
        UsageReportQuery.Parse(n => n switch { "from" => from, "to" => to, "group_by" => groupBy, "interval" => interval, _ => null }, c => c == "USD");

    [Benchmark(Description = "year, all, total")]
    public Task<UsageReport> YearTotal() => _reports.QueryAsync(Query("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "all"), CancellationToken.None);

    [Benchmark(Description = "year, by team, total")]
    public Task<UsageReport> YearByTeam() => _reports.QueryAsync(Query("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "team"), CancellationToken.None);

    [Benchmark(Description = "year, by team, per day")]
    public Task<UsageReport> YearByTeamDaily() => _reports.QueryAsync(Query("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "team", "day"), CancellationToken.None);

    [Benchmark(Description = "~8 months off-boundary, by team")]
    public Task<UsageReport> OffBoundaryByTeam() => _reports.QueryAsync(Query("2025-03-14T13:25:00Z", "2025-11-02T13:40:00Z", "team"), CancellationToken.None);

    [Benchmark(Description = "year, by user (60 users)")]
    public Task<UsageReport> YearByUser() => _reports.QueryAsync(Query("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "user"), CancellationToken.None);
}
