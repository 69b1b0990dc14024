using System.Text;
using Gateway.Core.Analytics;
using Gateway.Core.Reports;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Core.Tests.Reports;

/// <summary>The summary as one CSV table of line items: RFC 4180, every figure findable, nothing a spreadsheet would run.</summary>
public sealed class SummaryCsvTests
{
    /// <summary>An RFC 4180 reader (quoted cells, doubled quotes, CRLF inside quotes), to read back what was written.</summary>
    internal static List<string[]> Read(string csv)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"') { cell.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cell.Append(c);
                continue;
            }

            switch (c)
            {
                case '"' when cell.Length == 0: quoted = true; break;
                case '"': throw new FormatException($"a quote inside an unquoted cell at {i}");
                case ',': row.Add(cell.ToString()); cell.Clear(); break;
                case '\r' when i + 1 < csv.Length && csv[i + 1] == '\n':
                    row.Add(cell.ToString()); cell.Clear(); rows.Add([.. row]); row.Clear(); i++; break;
                case '\r' or '\n': throw new FormatException($"a bare line break at {i}");
                default: cell.Append(c); break;
            }
        }

        Assert.False(quoted, "an unterminated quoted cell");
        Assert.True(cell.Length == 0 && row.Count == 0, "the last line must end with CRLF");
        return rows;
    }

    private static string Value(List<string[]> rows, string section, string metric, string? name = null, string? date = null) =>
        Assert.Single(rows, r => r[0] == section && r[5] == metric && (name is null || r[3] == name) && (date is null || r[4] == date))[6];

    [Fact]
    public void Every_section_is_a_set_of_line_items_with_its_figures()
    {
        var rows = Read(SummaryCsv.Write(NovemberSummary()));

        Assert.Equal(SummaryCsv.Columns, rows[0]);
        Assert.All(rows, r => Assert.Equal(8, r.Length));
        Assert.Equal(("2026-11-01", "2026-12-01", "30"), (Value(rows, "range", "from"), Value(rows, "range", "to"), Value(rows, "range", "days")));
        Assert.Equal(("all", "*"), (rows[1][2], rows[1][3]));
        Assert.Equal(("2170", "18900"), (Value(rows, "spend", "cost_usd"), Value(rows, "spend", "requests")));
        Assert.Equal(("1590", "580", "36.5"), (Value(rows, "trend", "previous_cost_usd"), Value(rows, "trend", "change_usd"), Value(rows, "trend", "change_pct")));
        Assert.Equal(60, rows.Count(r => r[0] == "daily"));
        Assert.Equal("343", Value(rows, "daily", "cost_usd", date: "2026-11-20"));
        Assert.Equal("2170", Value(rows, "forecast", "projected_usd", date: "2026-11"));
        var top = Assert.Single(rows, r => r[0] == "top_team" && r[1] == "1" && r[5] == "cost_usd");
        Assert.Equal(("team", "search", "1200"), (top[2], top[3], top[6]));
        Assert.Equal("55.3", Value(rows, "top_team", "share_pct", "search"));
        Assert.Equal(5, rows.Count(r => r[0] == "top_key" && r[5] == "cost_usd"));
        var budget = Assert.Single(rows, r => r[0] == "budget_at_risk" && r[5] == "spent_usd");
        Assert.Equal(("team", "search", "0"), (budget[2], budget[3], budget[6]));
        Assert.Equal("risk likely; monthly period from 2026-12-01T00:00:00Z (UTC); projected to 2027-01-01T00:00:00Z; runs out on 2026-12-25", budget[7]);
        var anomaly = Assert.Single(rows, r => r[0] == "anomaly" && r[3] == "ads" && r[5] == "observed_usd");
        Assert.Equal(("team", "2026-11-20", "300"), (anomaly[2], anomaly[4], anomaly[6]));
        Assert.StartsWith("team=ads spent $300 on 2026-11-20", anomaly[7], StringComparison.Ordinal);
        Assert.EndsWith("(severity high)", anomaly[7], StringComparison.Ordinal);
        Assert.Equal(("250", "6"), (Value(rows, "savings", "total_monthly_saving_usd"), Value(rows, "savings", "recommendations")));
        Assert.Equal(["100", "50", "40", "30", "20"], rows.Where(r => r[0] == "recommendation").Select(r => r[6]));
        var first = rows.First(r => r[0] == "recommendation");
        Assert.Equal(("team", "search", "Send short gpt-4o requests to gpt-4o-mini (cheaper_model, high confidence)"), (first[2], first[3], first[7]));
    }

    [Fact]
    public void Commas_quotes_and_line_breaks_are_quoted_and_read_back_whole()
    {
        const string team = "R&D, \"labs\"\r\nwest";
        var summary = ExecutiveSummaryBuilder.Build(Inputs(November, December, rows: Rows(adsTeam: team)), new AnalyticsOptions());

        var csv = SummaryCsv.Write(summary);

        Assert.Contains(",\"R&D, \"\"labs\"\"\r\nwest\",", csv, StringComparison.Ordinal);
        Assert.Equal("880", Value(Read(csv), "top_team", "cost_usd", team));
    }

    [Fact]
    public void Cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote_and_numbers_stay_numbers()
    {
        string[] formulas = ["=HYPERLINK(\"http://evil.example\",\"open\")", "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1"];
        var rows = Rows(adsTeam: formulas[3], searchTeam: formulas[0]);
        rows.AddRange(Rows().Where(r => r.Dimension == "team" && r.Value == "ads").Select(r => r with { Value = formulas[1] }));
        rows.AddRange(Rows().Where(r => r.Dimension == "team" && r.Value == "(none)").Select(r => r with { Value = formulas[2] }));
        rows.AddRange(Rows().Where(r => r.Dimension == "model" && r.Value == "mock-1").Select(r => r with { Value = formulas[4] }));
        var summary = ExecutiveSummaryBuilder.Build(Inputs(November, December, rows: rows, searchTeam: formulas[0], savingsTitle: "=cmd|' /C calc'!A0"), new AnalyticsOptions());
        summary = summary with { Trend = summary.Trend with { ChangeUsd = -12.5m, ChangePct = -0.6 } };

        var csv = SummaryCsv.Write(summary);
        var read = Read(csv);

        // each name is written as a quoted cell with a leading ', and read back as the name after that '
        Assert.Contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"open\"\")\"", csv, StringComparison.Ordinal);
        foreach (var formula in formulas)
            Assert.Contains(read, r => r[0] is "top_team" or "top_model" && r[3] == "'" + formula);
        Assert.Contains(read, r => r[0] == "budget_at_risk" && r[3] == "'" + formulas[0]);
        Assert.Equal("'=cmd|' /C calc'!A0 (cheaper_model, high confidence)", read.First(r => r[0] == "recommendation")[7]);
        // no text cell anywhere starts a formula; numbers, negative ones too, are bare numbers
        foreach (var cell in read.SelectMany(r => r.Where((_, i) => i != 6)))
            Assert.False(cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r', cell);
        Assert.Equal(("-12.5", "-0.6"), (Value(read, "trend", "change_usd"), Value(read, "trend", "change_pct")));
        Assert.Contains("\r\ntrend,,all,*,,change_usd,-12.5,\r\n", csv, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_summary_still_has_its_range_totals_and_savings()
    {
        var rows = Read(SummaryCsv.Write(EmptySummary()));

        Assert.Equal(("0", "0", "0"), (Value(rows, "range", "days"), Value(rows, "spend", "cost_usd"), Value(rows, "savings", "total_monthly_saving_usd")));
        Assert.Equal("", Value(rows, "trend", "change_pct"));
        Assert.DoesNotContain(rows, r => r[0] is "daily" or "forecast" or "anomaly" or "budget_at_risk" or "recommendation" || r[0].StartsWith("top_", StringComparison.Ordinal));
    }
}
