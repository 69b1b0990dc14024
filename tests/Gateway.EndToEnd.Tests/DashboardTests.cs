using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Deque.AxeCore.Playwright;
using Gateway.Core.Auth;
using Gateway.Core.Dashboard;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// The admin dashboard in a real headless Chromium (Debian's <c>chromium</c>, driven by Playwright) against the host, with
/// a year of rollups seeded in its Azurite (with a planted spend spike yesterday) and a batch job's usage records: sign-in,
/// the page and its charts, yesterday's analytics snapshot and the savings recommendations, console, accessibility (axe),
/// sign-out, refused keys and cookies, and the security headers. Screenshots go to <c>TestResults/dashboard/</c> at the repository
/// root (the path is printed).
/// </summary>
[Collection(HostCollection.Name)]
public sealed class DashboardTests(HostFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Where the browser is: <c>GATEWAY_TEST_CHROMIUM</c>, else Debian's package (test.sh installs it).</summary>
    private static readonly string Chromium = Environment.GetEnvironmentVariable("GATEWAY_TEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private static readonly string Screenshots = Path.Combine(FunctionsHost.RepositoryRoot, "TestResults", "dashboard");

    private IPlaywright? _playwright;
    private IBrowser? _browser;
    /// <summary>Sends exactly the cookies a test writes (the fixture's client keeps the ones it is given).</summary>
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        if (!FunctionsHost.Found) return;
        Assert.True(File.Exists(Chromium), $"no Chromium at {Chromium}: install Debian's chromium (test.sh does: apt-get install chromium) or set GATEWAY_TEST_CHROMIUM");
        Directory.CreateDirectory(Screenshots);
        _http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = fixture.Host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        await DashboardSeed.SeedAsync(fixture.Storage);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private string Url(string path) => new Uri(fixture.Host.BaseUri, path).ToString();

    private async Task<IBrowserContext> ContextAsync() =>
        await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 }, Locale = "en-US" });

    private async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(Screenshots, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.Locator("#admin-key").FillAsync(key);
        await page.Locator("#sign-in-form button[type=submit]").ClickAsync();
    }

    private static Task WaitReadyAsync(IPage page) =>
        page.WaitForSelectorAsync("body[data-state=ready]", new PageWaitForSelectorOptions { Timeout = 30_000, State = WaitForSelectorState.Attached });

    private static async Task<string> CellAsync(IPage page, string table, string row, int column) =>
        (await page.Locator($"table[data-table='{table}'] tr[data-key='{row}'] td").Nth(column).TextContentAsync())!.Trim();

    private static long Number(string text) => long.Parse(new string([.. text.Where(char.IsAsciiDigit)]), CultureInfo.InvariantCulture);

    private static decimal Dollars(string text) => decimal.Parse(text.Trim().TrimStart('$').Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    private static string Day(DateTimeOffset day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A change in percent as the page shows it: "+12.5 %", "−4.0 %".</summary>
    private static string SignedPct(double v) => (v > 0 ? "+" : v < 0 ? "\u2212" : "±") + Math.Abs(v).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static async Task<string> TextAsync(IPage page, string selector) => (await page.Locator(selector).TextContentAsync() ?? "").Trim();

    /// <summary>
    /// Yesterday's analytics snapshot as the page reads it (the stored one), once it holds the seeded spike and the budgets:
    /// computed again now, as the host's timer also does every few seconds here.
    /// </summary>
    private async Task<System.Text.Json.Nodes.JsonNode> SnapshotWithAsync(string date, params string[] budgets)
    {
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Get, $"gateway/analytics?date={date}&refresh=true")).Status);
        var reply = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/analytics?date={date}"),
            r => r.Status == 200 && budgets.All(budget => r.Json!["budgets"]!.AsArray().Any(b => (string?)b!["scope"] == budget))
                && r.Json!["anomalies"]!.AsArray().Any(a => (string?)a!["value"] == DashboardSeed.Gamma),
            TimeSpan.FromSeconds(30), "the stored snapshot of yesterday with the budgets and the spike");
        return reply.Json!;
    }

    [HostFact]
    public async Task Signed_in_the_page_loads_a_year_of_rollups_into_every_panel_with_no_console_error_or_serious_accessibility_violation_and_signs_out()
    {
        // a budget on a seeded team, so the budgets panel draws a burn-down from the seeded days of this month
        const string budget = "team:" + DashboardSeed.Alpha;
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/" + budget, """{"limit_usd":500,"period":"monthly"}""")).Status);
        // and one the rollups say is spent already: the planted spike of yesterday alone passes it (last month's, on the 1st)
        const string overrun = "team:" + DashboardSeed.Gamma;
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Put, "gateway/budgets/" + overrun, """{"limit_usd":30,"period":"monthly"}""")).Status);
        await Task.Delay(1500); // every instance learns of a new budget within its refresh interval (1 s here)
        try
        {
            var yesterday = Day(DashboardSeed.Today.AddDays(-1));
            var snapshot = await SnapshotWithAsync(yesterday, budget, overrun);

            await using var context = await ContextAsync();
            var page = await context.NewPageAsync();
            var problems = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type is "error" or "warning") problems.Add($"console {message.Type}: {message.Text} ({message.Location})");
            };
            page.PageError += (_, error) => problems.Add("page error: " + error);

            var first = await page.GotoAsync(Url("gateway/dashboard"));
            Assert.Equal(200, first!.Status);
            Assert.Contains("frame-ancestors 'none'", await first.HeaderValueAsync("content-security-policy") ?? "", StringComparison.Ordinal);
            await page.Locator("#sign-in").WaitForAsync();
            Assert.True(await page.Locator("#dashboard").IsHiddenAsync());
            await ScreenshotAsync(page, "1-sign-in");

            await SignInAsync(page, HostFixture.AdminKey);
            await WaitReadyAsync(page);
            Assert.Equal("", await page.Locator("#admin-key").InputValueAsync());
            var cookie = (await context.CookiesAsync()).Single(c => c.Name == DashboardSessions.CookieName);
            Assert.True(cookie.HttpOnly);
            Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
            Assert.Equal("/gateway", cookie.Path);
            // the key went nowhere but the sign-in body: not into the page's storage or its address
            Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length + sessionStorage.length"));
            Assert.DoesNotContain(HostFixture.AdminKey, page.Url, StringComparison.Ordinal);
            Assert.DoesNotContain(HostFixture.AdminKey, await page.ContentAsync(), StringComparison.Ordinal);

            // the load as a returning admin sees it: the page, its assets and every panel's data against a year of rollups
            var clock = Stopwatch.StartNew();
            await page.ReloadAsync();
            await WaitReadyAsync(page);
            clock.Stop();
            var status = await page.Locator("#load-status").TextContentAsync();
            output.WriteLine($"dashboard load (navigation to every panel drawn, {DashboardSeed.Days} days of rollups): {clock.ElapsedMilliseconds} ms; the page's own count of its data calls: {status}");
            // where the time went, as the browser measured it (milliseconds from the start of the navigation)
            output.WriteLine(await page.EvaluateAsync<string>("""
                () => {
                  const n = performance.getEntriesByType('navigation')[0];
                  const calls = performance.getEntriesByType('resource').map(r => `${new URL(r.name).pathname.replace('/gateway/', '')} ${Math.round(r.startTime)}–${Math.round(r.responseEnd)}`);
                  return `page ${Math.round(n.responseEnd)}, DOM ready ${Math.round(n.domContentLoadedEventEnd)}; ${calls.join('; ')}`;
                }
                """));

            var today = DashboardSeed.Today;
            var rangeStart = today.AddDays(1 - 365);
            var first_ = DashboardSeed.FirstDay(today);
            var inRange = Enumerable.Range(0, DashboardSeed.Days).Where(i => first_.AddDays(i) >= rangeStart).ToList();

            // spend over time: a day of the seeded year, to the cent
            var day = today.AddDays(-10);
            var dayIndex = (int)(day - first_).TotalDays;
            var daySpend = DashboardSeed.DayRows(dayIndex).Single(r => r.Dimension == "all").Totals;
            var dayKey = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            Assert.Equal(DashboardSeed.Usd(daySpend.CostUsd), await CellAsync(page, "spend", dayKey, 2));
            Assert.Equal("150", await CellAsync(page, "spend", dayKey, 1));
            Assert.Equal("365", await page.Locator("svg[data-chart=spend]").GetAttributeAsync("data-points"));
            Assert.True(await page.Locator("svg[data-chart=spend] path[data-series]").CountAsync() == 1);

            // by team: the seeded teams' totals over the range, in the chart and its table
            var alpha = inRange.Sum(i => DashboardSeed.Team(DashboardSeed.Alpha, i).CostUsd);
            Assert.Equal(DashboardSeed.Usd(alpha), await CellAsync(page, "breakdown", DashboardSeed.Alpha, 2));
            Assert.Equal(alpha, decimal.Parse((await page.Locator($"svg[data-chart=breakdown-team] g[data-label='{DashboardSeed.Alpha}']").GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture));
            Assert.Equal(DashboardSeed.Usd(inRange.Sum(i => DashboardSeed.Team(DashboardSeed.Beta, i).CostUsd)), await CellAsync(page, "breakdown", DashboardSeed.Beta, 2));
            // and by model, after choosing it
            await page.Locator("#breakdown-dimension").SelectOptionAsync("model");
            await page.Locator("svg[data-chart=breakdown-model]").WaitForAsync();
            Assert.Equal(DashboardSeed.Usd(inRange.Sum(i => DashboardSeed.Team(DashboardSeed.Alpha, i).CostUsd + DashboardSeed.Team(DashboardSeed.Beta, i).CostUsd)),
                await CellAsync(page, "breakdown", "dash-large", 2));

            // rate-limit refusals, cache and safety: at least the seeded counts (today's traffic of the other tests adds to them)
            Assert.True(Number(await page.Locator("#ratelimit-kpis [data-kpi=refusals] dd").TextContentAsync() ?? "") >= 2 * inRange.Count);
            Assert.Equal((2 * inRange.Count).ToString("#,##0", CultureInfo.InvariantCulture), await CellAsync(page, "ratelimit-keys", "key_dashseed2", 1));
            Assert.Equal("10", await CellAsync(page, "cache", dayKey, 1));
            Assert.Equal("$0.05", await CellAsync(page, "cache", dayKey, 3));
            Assert.True(Number(await page.Locator("#cache-kpis [data-kpi=hits] dd").TextContentAsync() ?? "") >= 10 * inRange.Count);
            Assert.Equal(inRange.Count.ToString("#,##0", CultureInfo.InvariantCulture), await CellAsync(page, "safety-teams", DashboardSeed.Gamma, 1));

            // breakers: every catalog deployment, closed, with its error rate from usage (the seeded 2 % and whatever today added)
            foreach (var deployment in new[] { "mock", "quota", "upstream" })
                Assert.Equal("closed", (await page.Locator($"table[data-table=breakers] tr[data-key='{deployment}'] .state").TextContentAsync())!.Trim());
            Assert.EndsWith("%", await CellAsync(page, "breakers", "upstream", 5), StringComparison.Ordinal);

            // the budget with its burn-down, and its forecast from the analytics snapshot (of last month's period on the 1st)
            Assert.Contains("of $500.00 spent", await page.Locator($"p[data-budget='{budget}']").TextContentAsync() ?? "", StringComparison.Ordinal);
            Assert.Equal(1, await page.Locator($"svg[data-chart='budget-{budget}'] path[data-series='Remaining (from usage)']").CountAsync());
            var entry = snapshot["budgets"]!.AsArray().Single(b => (string?)b!["scope"] == budget)!;
            var projected = DashboardSeed.Usd((decimal)entry["projected_usd"]!);
            if (DashboardSeed.Today.Day == 1)
            {
                Assert.Contains("previous period", await TextAsync(page, $"#budgets .budget:has(p[data-budget='{budget}']) p.note"), StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(1, await page.Locator($"svg[data-chart='budget-{budget}'] path[data-series='Forecast (analytics)']").CountAsync());
                Assert.Equal(entry["lower_usd"] is null ? 0 : 1, await page.Locator($"svg[data-chart='budget-{budget}'] path[data-series='90 % interval']").CountAsync());
                var forecastText = await TextAsync(page, $"p[data-forecast='{budget}']");
                Assert.Contains($"{projected} projected by {Day(DateTimeOffset.Parse((string)entry["horizon_end"]!, CultureInfo.InvariantCulture))}", forecastText, StringComparison.Ordinal);
                Assert.Contains("against the $500.00 limit", forecastText, StringComparison.Ordinal);
                Assert.Equal((string?)entry["risk"], await page.Locator($"p[data-forecast='{budget}'] [data-risk]").GetAttributeAsync("data-risk"));
            }

            // analytics: the snapshot of yesterday, the range's last complete day
            Assert.Equal(yesterday, await page.Locator("[data-analytics-date]").GetAttributeAsync("data-analytics-date"));
            var allTrend = snapshot["trends"]!.AsArray().Single(t => (string?)t!["dimension"] == "all")!;
            var allYesterday = DashboardSeed.DayRows(DashboardSeed.Days - 1).Single(r => r.Dimension == "all").Totals.CostUsd;
            Assert.Equal(allYesterday, (decimal)allTrend["day"]!["cost_usd"]!["current"]!);
            var trendDay = await TextAsync(page, "#analytics [data-kpi=trend-day] dd");
            Assert.StartsWith(DashboardSeed.Usd(allYesterday), trendDay, StringComparison.Ordinal);
            Assert.Contains(SignedPct((double)allTrend["day"]!["cost_usd"]!["change_pct"]!) + " on the day before", trendDay, StringComparison.Ordinal);
            Assert.Contains(" on the 7 before", await TextAsync(page, "#analytics [data-kpi=trend-week] dd"), StringComparison.Ordinal);
            Assert.Equal(1, await page.Locator($"table[data-table=trends] tr[data-key='team={DashboardSeed.Alpha}']").CountAsync());
            // the month-end forecast of all traffic, with its interval
            var forecast = snapshot["forecasts"]!.AsArray().Single(f => (string?)f!["dimension"] == "all")!;
            Assert.Equal(DashboardSeed.Usd((decimal)forecast["projected_usd"]!), await TextAsync(page, "#analytics [data-kpi=forecast-projected] dd"));
            Assert.Equal(forecast["lower_usd"] is null ? "not enough days" : $"{DashboardSeed.Usd((decimal)forecast["lower_usd"]!)} to {DashboardSeed.Usd((decimal)forecast["upper_usd"]!)}",
                await TextAsync(page, "#analytics [data-kpi=forecast-interval] dd"));
            // the budget's risk, projection and run-out date in the snapshot's budgets
            Assert.Equal(projected, await CellAsync(page, "analytics-budgets", budget, 3));
            Assert.Equal((string?)entry["risk"], await CellAsync(page, "analytics-budgets", budget, 6));
            Assert.Equal((string?)entry["runs_out_on"] ?? "lasts the period", await CellAsync(page, "analytics-budgets", budget, 7));
            // the budget the spike overran: first in the table, spent, and its burn-down's axis goes below $0 (not on the 1st: last month's entry is not drawn)
            Assert.Equal("exceeded", await page.Locator("table[data-table=analytics-budgets] tbody tr").First.Locator("[data-risk]").GetAttributeAsync("data-risk"));
            Assert.Equal("exceeded", await CellAsync(page, "analytics-budgets", overrun, 6));
            Assert.Equal("spent", await CellAsync(page, "analytics-budgets", overrun, 7));
            if (DashboardSeed.Today.Day != 1)
            {
                Assert.Equal(1, await page.Locator($"svg[data-chart='budget-{overrun}'] path[data-series='Forecast (analytics)']").CountAsync());
                Assert.Equal(1, await page.Locator($"svg[data-chart='budget-{overrun}'] line.zero").CountAsync());
                Assert.Equal("exceeded", await page.Locator($"p[data-forecast='{overrun}'] [data-risk]").GetAttributeAsync("data-risk"));
            }

            // the planted spike, with the engine's reason
            var spike = snapshot["anomalies"]!.AsArray().Single(a => (string?)a!["dimension"] == "team" && (string?)a["value"] == DashboardSeed.Gamma)!;
            var reason = (string)spike["reason"]!;
            Assert.StartsWith($"team={DashboardSeed.Gamma} spent $40.00 on {yesterday}, ", reason, StringComparison.Ordinal);
            var spikeRow = $"table[data-table=anomalies] tr[data-key='{(string)spike["id"]!}']";
            Assert.Equal(reason, (await page.Locator(spikeRow + " td").Nth(3).TextContentAsync())!.Trim());
            Assert.Equal("high", await page.Locator(spikeRow + " [data-severity]").GetAttributeAsync("data-severity"));
            Assert.Equal($"team={DashboardSeed.Gamma}", (await page.Locator(spikeRow + " td").First.TextContentAsync())!.Trim());

            // savings: the batch job's requests, over the last 31 days of the range
            var window = (await page.Locator("[data-savings-window]").GetAttributeAsync("data-savings-window"))!.Split('/');
            Assert.Equal(DashboardSeed.Today.AddDays(1), DateTimeOffset.Parse(window[1], CultureInfo.InvariantCulture));
            Assert.Equal(DashboardSeed.Today.AddDays(1 - 31), DateTimeOffset.Parse(window[0], CultureInfo.InvariantCulture));
            var batchRow = $"batch_api:key:{DashboardSeed.BatchKey}";
            Assert.Contains("batch API", await CellAsync(page, "recommendations", batchRow, 0), StringComparison.Ordinal);
            Assert.Equal("Batch API", await CellAsync(page, "recommendations", batchRow, 1));
            Assert.Equal($"key {DashboardSeed.BatchKey}", await CellAsync(page, "recommendations", batchRow, 2));
            // half the batch's cost (the default discount), scaled from the window's 30 and some days observed to 30
            var observed = DashboardSeed.BatchRequests * DashboardSeed.BatchCostUsd / 2;
            Assert.InRange(Dollars(await CellAsync(page, "recommendations", batchRow, 3)), (observed * 30 / 31) - 0.01m, observed + 0.01m);
            Assert.Equal("high", await CellAsync(page, "recommendations", batchRow, 4));
            Assert.Contains($"{DashboardSeed.BatchRequests} of its {DashboardSeed.BatchRequests} unstreamed requests were tagged non-interactive (mode=batch)",
                await CellAsync(page, "recommendations", batchRow, 5), StringComparison.Ordinal);
            var total = await TextAsync(page, "#recommendations [data-kpi=total] dd");
            Assert.Equal(total, await TextAsync(page, "table[data-table=recommendations] tfoot td.num"));
            Assert.True(Dollars(total) >= Dollars(await CellAsync(page, "recommendations", batchRow, 3)));
            Assert.Equal(0, await page.Locator("#dashboard [data-error]").CountAsync());
            await ScreenshotAsync(page, "2-dashboard");

            var axe = await page.RunAxe();
            output.WriteLine($"axe-core {axe.TestEngine?.Version}: {axe.Passes.Length} rules passed, {axe.Incomplete.Length} incomplete, {axe.Violations.Length} violated");
            var serious = axe.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
            foreach (var v in axe.Violations)
                output.WriteLine($"axe {v.Impact}: {v.Id} — {v.Help} ({string.Join("; ", v.Nodes.Take(3).Select(n => n.Html))})");
            Assert.Empty(serious);
            Assert.Empty(problems);

            // sign-out: the cookie goes, the sign-in form comes back, and the page's data calls are refused
            await page.Locator("#sign-out").ClickAsync();
            await page.Locator("#sign-in").WaitForAsync();
            Assert.Equal("signed-out", await page.Locator("body").GetAttributeAsync("data-state"));
            Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == DashboardSessions.CookieName);
            Assert.Equal(0, await page.Locator("table[data-table=spend]").CountAsync());
            var after = await page.EvaluateAsync<int>("async () => (await fetch('/gateway/budgets', { headers: { 'x-gateway-dashboard': '1' } })).status");
            Assert.Equal(401, after);
            await ScreenshotAsync(page, "3-signed-out");
        }
        finally
        {
            await fixture.AdminAsync(HttpMethod.Delete, "gateway/budgets/" + budget);
            await fixture.AdminAsync(HttpMethod.Delete, "gateway/budgets/" + overrun);
        }
    }

    [HostFact]
    public async Task A_wrong_admin_key_is_refused_and_sets_no_cookie()
    {
        await using var context = await ContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(Url("gateway/dashboard"));
        await page.Locator("#sign-in").WaitForAsync();
        await SignInAsync(page, "sk-gw-not-the-admin-key");
        await page.Locator("#sign-in-error:has-text('not accepted')").WaitForAsync();
        Assert.True(await page.Locator("#dashboard").IsHiddenAsync());
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == DashboardSessions.CookieName);
        await ScreenshotAsync(page, "4-wrong-key");

        var refused = await SignInOverHttpAsync("sk-gw-not-the-admin-key");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    [HostFact]
    public async Task A_tampered_or_expired_session_is_refused_in_the_browser_and_on_the_admin_routes()
    {
        using var signIn = await SignInOverHttpAsync(HostFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var setCookie = signIn.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("HttpOnly", setCookie, StringComparison.Ordinal);
        Assert.Contains("SameSite=Strict", setCookie, StringComparison.Ordinal);
        Assert.Contains("Path=/gateway", setCookie, StringComparison.Ordinal);
        // fifteen minutes, less the part of a second the token's whole-second expiry cuts off
        var maxAge = int.Parse(setCookie.Split(';').Select(a => a.Trim()).Single(a => a.StartsWith("Max-Age=", StringComparison.Ordinal))[8..], CultureInfo.InvariantCulture);
        Assert.InRange(maxAge, 899, 900);
        var token = setCookie.Split(';')[0][(DashboardSessions.CookieName.Length + 1)..];

        var tampered = token[..^3] + (token[^3] == 'A' ? "B" : "A") + token[^2..];
        var expired = new AdminSessions(Encoding.UTF8.GetBytes(HostFixture.DashboardSessionKey), KeyHasher.Hash(HostFixture.AdminKey), TimeSpan.FromMinutes(15),
            new FixedTime(DateTimeOffset.UtcNow.AddMinutes(-20))).Issue().Token;
        var report = $"gateway/reports/usage?from={DashboardSeed.Today.AddDays(-7):yyyy-MM-dd}&to={DashboardSeed.Today:yyyy-MM-dd}";

        // the routes the page reads: the usage report, the analytics snapshot and the savings recommendations
        var analytics = $"gateway/analytics?date={Day(DashboardSeed.Today.AddDays(-1))}";
        var savings = $"gateway/savings?from={DashboardSeed.Today.AddDays(-7):yyyy-MM-dd}&to={DashboardSeed.Today:yyyy-MM-dd}";
        foreach (var route in new[] { report, analytics, savings })
        {
            Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(route, token));
            Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(route, tampered));
            Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(route, expired));
            // the cookie alone authorises nothing: a call without the dashboard header is refused (a page elsewhere cannot add it)
            Assert.Equal(HttpStatusCode.Forbidden, await WithCookieAsync(route, token, header: false));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync("gateway/dashboard/breakers", expired));
        // and a session reads only what the dashboard reads: changes still need the admin key
        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync("gateway/keys", token));

        foreach (var (name, bad) in new[] { ("tampered", tampered), ("expired", expired) })
        {
            await using var context = await ContextAsync();
            await context.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = DashboardSessions.CookieName, Value = bad, Domain = fixture.Host.BaseUri.Host, Path = DashboardSessions.CookiePath }]);
            var page = await context.NewPageAsync();
            await page.GotoAsync(Url("gateway/dashboard"));
            await page.Locator("#sign-in-error:has-text('no longer valid')").WaitForAsync();
            Assert.True(await page.Locator("#dashboard").IsHiddenAsync());
            // the refused cookie is cleared
            Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == DashboardSessions.CookieName);
            await ScreenshotAsync(page, $"5-{name}-cookie");
        }
    }

    [HostFact]
    public async Task The_page_and_its_assets_carry_the_security_headers_and_sign_in_needs_the_dashboard_header()
    {
        foreach (var path in new[] { "gateway/dashboard", "gateway/dashboard/assets/dashboard.js", "gateway/dashboard/assets/dashboard.css", "gateway/dashboard/assets/favicon.svg" })
        {
            using var response = await _http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        }

        // the page holds no inline script or style for the policy to refuse, and names no other host
        var html = await _http.GetStringAsync("gateway/dashboard");
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<style", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http", html.Replace("http://www.w3.org", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // an unchanged asset is not sent again
        using var js = await _http.GetAsync("gateway/dashboard/assets/dashboard.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "gateway/dashboard/assets/dashboard.js");
        again.Headers.TryAddWithoutValidation("If-None-Match", js.Headers.ETag!.ToString());
        using var notModified = await _http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("gateway/dashboard/assets/nothing.js")).StatusCode);

        // sign-in without the dashboard header (a form posted from elsewhere) is refused before the key is looked at
        using var post = new HttpRequestMessage(HttpMethod.Post, "gateway/dashboard/session")
        {
            Content = new StringContent($$"""{"admin_key":"{{HostFixture.AdminKey}}"}""", Encoding.UTF8, "application/json"),
        };
        using var refused = await _http.SendAsync(post);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    private async Task<HttpResponseMessage> SignInOverHttpAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "gateway/dashboard/session")
        {
            Content = new StringContent($$"""{"admin_key":"{{key}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(DashboardSessions.CsrfHeader, "1");
        return await _http.SendAsync(request);
    }

    private async Task<HttpStatusCode> WithCookieAsync(string path, string token, bool header = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Cookie", $"{DashboardSessions.CookieName}={token}");
        if (header) request.Headers.Add(DashboardSessions.CsrfHeader, "1");
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
