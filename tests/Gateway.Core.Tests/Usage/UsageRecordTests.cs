using System.Text;
using Gateway.Core.Usage;

namespace Gateway.Core.Tests.Usage;

public sealed class UsageRecordTests
{
    private static UsageRecord Sample() => new()
    {
        RequestId = "req_1",
        At = DateTimeOffset.Parse("2026-11-25T10:07:31.123Z", System.Globalization.CultureInfo.InvariantCulture),
        KeyId = "key_a",
        Team = "payments",
        Tags = new Dictionary<string, string> { ["env"] = "prod" },
        PromptTokens = 1200,
        CompletionTokens = 30,
        CachedTokens = 1024,
        CostUsd = 0.0000000025m,
        Outcome = UsageOutcomes.Success,
        Status = 200,
    };

    [Fact]
    public void Queue_messages_round_trip_exactly_including_sub_nano_dollar_costs()
    {
        var record = Sample();
        var decoded = UsageRecordCodec.Decode(UsageRecordCodec.FromBase64(UsageRecordCodec.ToBase64(record)));
        Assert.Equal(record.CostUsd, decoded.CostUsd);
        Assert.Equal(record.Tags, decoded.Tags);
        Assert.Equal(record with { Tags = decoded.Tags }, decoded);
    }

    [Fact]
    public void The_request_shape_round_trips_and_a_message_from_before_it_decodes_without_it()
    {
        var record = Sample() with
        {
            RequestHash = new string('a', 64), PrefixHash = new string('b', 64), PrefixTokens = 1800, MaxTokens = 256, ToolsOffered = 2, FinishReason = "length",
        };
        var decoded = UsageRecordCodec.Decode(UsageRecordCodec.Encode(record));
        Assert.Equal(record with { Tags = decoded.Tags }, decoded);
        var batch = UsageRecordCodec.DecodeMessage(Assert.Single(UsageRecordCodec.EncodeBatch([record])));
        Assert.Equal(record with { Tags = decoded.Tags }, Assert.Single(batch.Records) with { Tags = decoded.Tags });

        // a record queued by an older version has none of these fields
        var old = UsageRecordCodec.Decode("""{"requestId":"req_old","keyId":"k","at":"2026-01-01T00:00:00Z","outcome":"success","promptTokens":10}""");
        Assert.Equal(new UsageRecord { RequestId = "req_old", KeyId = "k", At = old.At, Outcome = UsageOutcomes.Success, PromptTokens = 10, Tags = old.Tags }, old);
    }

    [Theory]
    [InlineData("""{"requestId":"r","keyId":"k","at":"2026-01-01T00:00:00Z","outcome":"success","requestHash":"not-a-hash"}""")]
    [InlineData("""{"requestId":"r","keyId":"k","at":"2026-01-01T00:00:00Z","outcome":"success","prefixHash":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}""")]
    [InlineData("""{"requestId":"r","keyId":"k","at":"2026-01-01T00:00:00Z","outcome":"success","maxTokens":-5}""")]
    public void Request_shape_fields_that_are_not_what_the_gateway_writes_are_rejected(string message)
    {
        Assert.Throws<UsageDecodeException>(() => UsageRecordCodec.Decode(message));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"requestId\":\"r\"}")]
    [InlineData("{\"requestId\":\"a/b\",\"keyId\":\"k\",\"at\":\"2026-01-01T00:00:00Z\",\"outcome\":\"success\"}")]
    [InlineData("{\"requestId\":\"r\",\"keyId\":\"k\",\"at\":\"2026-01-01T00:00:00Z\",\"outcome\":\"success\",\"promptTokens\":-1}")]
    public void Incomplete_or_unsafe_messages_are_rejected(string message)
    {
        Assert.Throws<UsageDecodeException>(() => UsageRecordCodec.Decode(message));
    }

    [Fact]
    public void Aggregates_count_every_dimension_and_each_tag()
    {
        var a = Sample();
        var b = Sample() with { RequestId = "req_2", Team = null, Tags = new Dictionary<string, string> { ["env"] = "dev", ["f"] = "x" }, CostUsd = 1m, Outcome = UsageOutcomes.Error };
        var sums = UsageDimensions.Aggregate([a, b]);
        Assert.Equal(2, sums[(UsageDimensions.All, "*")].Requests);
        Assert.Equal(1, sums[(UsageDimensions.All, "*")].Errors);
        Assert.Equal(1.0000000025m, sums[(UsageDimensions.All, "*")].CostUsd);
        Assert.Equal(1, sums[(UsageDimensions.Team, UsageDimensions.None)].Requests);
        Assert.Equal(1, sums[(UsageDimensions.Tag, "f=x")].Requests);
        Assert.Equal(2, sums[(UsageDimensions.Key, "key_a")].Requests);
    }

    [Fact]
    public void Aggregates_count_cache_hits_savings_limit_refusals_and_safety_blocks()
    {
        UsageRecord[] records =
        [
            Sample() with { RequestId = "hit", CacheStatus = "hit", CostUsd = 0m, SavedUsd = 0.25m },
            Sample() with { RequestId = "shared", CacheStatus = "coalesced", CostUsd = 0m, SavedUsd = 0.5m },
            Sample() with { RequestId = "miss", CacheStatus = "miss" },
            Sample() with { RequestId = "limited", Outcome = UsageOutcomes.Error, Status = 429, ErrorCode = "rate_limit_exceeded", Attempts = 0 },
            // the provider's own 429 after an attempt is not the gateway refusing
            Sample() with { RequestId = "upstream429", Outcome = UsageOutcomes.Error, Status = 429, ErrorCode = "rate_limit_exceeded", Attempts = 2 },
            Sample() with { RequestId = "budget", Outcome = UsageOutcomes.Error, Status = 429, ErrorCode = "insufficient_quota", Attempts = 0 },
            Sample() with { RequestId = "blocked", Outcome = UsageOutcomes.Error, Status = 400, ErrorCode = "content_filter", Safety = "input: block secret.aws=1, flag email=1" },
            Sample() with { RequestId = "withheld", Safety = "input: redact email=1; output: block custom.codenames=1" },
            Sample() with { RequestId = "provider", Outcome = UsageOutcomes.Error, Status = 400, ErrorCode = "content_filter", Safety = "provider: block provider.violence=1" },
            Sample() with { RequestId = "flagged", Safety = "input: flag injection=1, redact email=2" },
        ];
        var all = UsageDimensions.Aggregate(records)[(UsageDimensions.All, "*")];
        Assert.Equal(2, all.CacheHits);
        Assert.Equal(0.75m, all.SavedUsd);
        Assert.Equal(1, all.RateLimited);
        Assert.Equal(3, all.SafetyBlocks);

        var sum = new UsageAggregate();
        sum.Add(all);
        sum.Add(all);
        Assert.Equal((4, 1.5m, 2, 6), (sum.CacheHits, sum.SavedUsd, sum.RateLimited, sum.SafetyBlocks));
        Assert.False(sum.SameAs(all));
    }

    [Fact]
    public void Report_json_has_the_counters_and_converts_savings()
    {
        var totals = new UsageAggregate { Requests = 4, CacheHits = 1, SavedUsd = 2m, RateLimited = 1, SafetyBlocks = 1, CostUsd = 10m };
        var query = new UsageReportQuery(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-11-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), UsageDimensions.All, null, ReportInterval.Total, "EUR");
        var json = UsageReportService.ToJson(new UsageReport(query, totals, []), usd => usd * 0.5m)["totals"]!;
        Assert.Equal(1, (long)json["cache_hits"]!);
        Assert.Equal(2m, (decimal)json["saved_usd"]!);
        Assert.Equal(1m, (decimal)json["saved"]!);
        Assert.Equal(1, (long)json["rate_limited"]!);
        Assert.Equal(1, (long)json["safety_blocks"]!);
    }

    [Fact]
    public async Task Csv_export_quotes_and_neutralises_formulas()
    {
        var r = Sample() with { User = "=cmd|' /C calc'!A0", KeyName = "a,\"b\"" };
        using var output = new MemoryStream();
        await UsageExport.WriteCsvAsync(One(r), output, default);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split("\r\n");
        Assert.Equal(UsageExport.Columns.Count, lines[0].Split(',').Length);
        Assert.Contains("\"a,\"\"b\"\"\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"'=cmd|' /C calc'!A0\"", lines[1], StringComparison.Ordinal);
        Assert.Contains(",0.0000000025,", lines[1], StringComparison.Ordinal);
        Assert.Contains("2026-11-25T10:07:31.123Z", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_export_ends_with_the_request_shape_columns()
    {
        var r = Sample() with { RequestHash = new string('a', 64), PrefixTokens = 1800, MaxTokens = null, ToolsOffered = 0, FinishReason = "stop" };
        using var output = new MemoryStream();
        await UsageExport.WriteCsvAsync(One(r), output, default);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split("\r\n");
        Assert.EndsWith(",request_hash,prefix_hash,prefix_tokens,max_tokens,tools_offered,finish_reason", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("," + new string('a', 64) + ",,1800,,0,stop", lines[1], StringComparison.Ordinal);
        Assert.Equal(UsageExport.Columns.Count, lines[1].Split(',').Length);
    }

    [Fact]
    public void Buckets_are_sortable_utc_keys()
    {
        var at = DateTimeOffset.Parse("2026-11-25T10:07:31+02:00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("202611250805", UsageBuckets.Key(at, Granularity.FiveMinutes));
        Assert.Equal("2026112508", UsageBuckets.Key(at, Granularity.Hour));
        Assert.Equal("20261125", UsageBuckets.Key(at, Granularity.Day));
        Assert.Equal(UsageBuckets.Floor(at, Granularity.FiveMinutes), UsageBuckets.Parse("202611250805"));
    }

    [Fact]
    public void Retention_cutoffs_round_down_so_nothing_inside_the_window_goes()
    {
        var options = new UsageRetentionOptions { RawRetentionDays = 30 };
        var now = DateTimeOffset.Parse("2026-11-25T10:07:31Z", System.Globalization.CultureInfo.InvariantCulture);
        var cutoff = options.RawCutoff(now);
        Assert.True(cutoff <= now - TimeSpan.FromDays(30));
        Assert.True(now - TimeSpan.FromDays(30) - cutoff < TimeSpan.FromMinutes(5));
        Assert.Contains("RollupRetentionDays", string.Join(";", new UsageRetentionOptions { RawRetentionDays = 100, RollupRetentionDays = 10 }.Validate()), StringComparison.Ordinal);
    }

    private static async IAsyncEnumerable<UsageRecord> One(UsageRecord r)
    {
        await Task.Yield();
        yield return r;
    }
}
