using System.Text.Json.Nodes;
using Gateway.Core.Reports;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Core.Tests.Reports;

/// <summary>The summary's JSON: a stable snake_case shape, the same keys for an empty summary, and a faithful round trip.</summary>
public sealed class SummaryJsonTests
{
    private static string[] Keys(JsonNode? node) => [.. node!.AsObject().Select(p => p.Key)];

    [Fact]
    public void The_shape_is_snake_case_in_a_fixed_order()
    {
        var json = SummaryJson.ToJson(NovemberSummary());

        Assert.Equal(["object", "from", "to", "days", "scope", "generated_at", "spend", "trend", "daily", "forecast", "top_consumers", "budgets_at_risk", "anomalies", "savings"],
            Keys(json));
        Assert.Equal(["cost_usd", "requests", "errors", "total_tokens"], Keys(json["spend"]));
        Assert.Equal(["previous_from", "previous_to", "previous", "change_usd", "change_pct"], Keys(json["trend"]));
        Assert.Equal(["date", "cost_usd", "requests"], Keys(json["daily"]![0]));
        Assert.Equal(["month", "as_of", "days_elapsed", "days_in_month", "month_to_date_usd", "projected_usd", "lower_usd", "upper_usd", "run_rate_usd_per_day", "method"],
            Keys(json["forecast"]));
        Assert.Equal(["dimension", "entries"], Keys(json["top_consumers"]![0]));
        Assert.Equal(["rank", "value", "cost_usd", "share_pct", "requests", "total_tokens"], Keys(json["top_consumers"]![0]!["entries"]![0]));
        Assert.Equal(["scope", "period", "time_zone", "period_start", "limit_usd", "spent_usd", "projected_usd", "upper_usd", "horizon_end", "runs_out_on", "risk"], Keys(json["budgets_at_risk"]![0]));
        Assert.Equal(["date", "kind", "severity", "dimension", "value", "observed", "baseline_median", "ratio", "reason"], Keys(json["anomalies"]![0]));
        Assert.Equal(["from", "to", "requests", "monthly_spend_usd", "total_monthly_saving_usd", "recommendations", "top"], Keys(json["savings"]));
        Assert.Equal(["kind", "scope", "title", "estimated_monthly_saving_usd", "confidence", "evidence"], Keys(json["savings"]!["top"]![0]));

        Assert.Equal(("executive_summary", "2026-11-01", "2026-12-01", "all", "2026-12-01T08:00:00Z"),
            ((string?)json["object"], (string?)json["from"], (string?)json["to"], (string?)json["scope"], (string?)json["generated_at"]));
        Assert.Equal((2170m, 36.5), ((decimal)json["spend"]!["cost_usd"]!, (double)json["trend"]!["change_pct"]!));
        Assert.Equal(("complete", "2026-11"), ((string?)json["forecast"]!["method"], ((string?)json["forecast"]!["month"])![..7]));
        Assert.Equal(("monthly", "2026-12-01T00:00:00Z", "likely"),
            ((string?)json["budgets_at_risk"]![0]!["period"], (string?)json["budgets_at_risk"]![0]!["period_start"], (string?)json["budgets_at_risk"]![0]!["risk"]));
        Assert.Equal(("spend", "high"), ((string?)json["anomalies"]![0]!["kind"], (string?)json["anomalies"]![0]!["severity"]));
        Assert.Equal(250m, (decimal)json["savings"]!["total_monthly_saving_usd"]!);
    }

    [Fact]
    public void An_empty_summary_has_every_key_with_zeros_nulls_and_empty_lists()
    {
        var json = SummaryJson.ToJson(EmptySummary());

        Assert.Equal(Keys(SummaryJson.ToJson(NovemberSummary())), Keys(json));
        Assert.Equal(0m, (decimal)json["spend"]!["cost_usd"]!);
        Assert.Null(json["trend"]!["change_pct"]);
        Assert.Null(json["forecast"]);
        Assert.True(json.ContainsKey("forecast"));
        Assert.Empty(json["daily"]!.AsArray());
        Assert.All(json["top_consumers"]!.AsArray(), t => Assert.Empty(t!["entries"]!.AsArray()));
        Assert.Empty(json["anomalies"]!.AsArray());
        Assert.Empty(json["budgets_at_risk"]!.AsArray());
        Assert.Empty(json["savings"]!["top"]!.AsArray());
    }

    [Fact]
    public void It_reads_back_as_the_same_summary()
    {
        var summary = NovemberSummary();
        var text = SummaryJson.Serialize(summary);

        var back = SummaryJson.Deserialize(text)!;

        Assert.Equal(text, SummaryJson.Serialize(back));
        Assert.Equal(summary.Spend, back.Spend);
        Assert.Equal(summary.Forecast, back.Forecast);
    }
}
