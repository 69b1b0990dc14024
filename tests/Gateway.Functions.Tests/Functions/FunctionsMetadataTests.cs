using System.Text.Json.Nodes;

namespace Gateway.Functions.Tests.Functions;

/// <summary>Checks what the Worker SDK generated for the host: routes, methods, auth levels, bindings.</summary>
public sealed class FunctionsMetadataTests
{
    private static JsonArray Metadata()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(dir!.FullName, "src", "Functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found at {path}");
        return JsonNode.Parse(File.ReadAllText(path))!.AsArray();
    }

    [Theory]
    [InlineData("ChatCompletions", "v1/chat/completions", "post")]
    [InlineData("Models", "v1/models/{*id}", "get")]
    [InlineData("CreateKey", "gateway/keys", "post")]
    [InlineData("ListKeys", "gateway/keys", "get")]
    [InlineData("RevokeKey", "gateway/keys/{id}", "delete")]
    [InlineData("GetPricing", "gateway/pricing", "get")]
    [InlineData("PutPricing", "gateway/pricing", "put")]
    [InlineData("GetCatalog", "gateway/catalog", "get")]
    [InlineData("PutCatalog", "gateway/catalog", "put")]
    [InlineData("DeleteCatalog", "gateway/catalog", "delete")]
    [InlineData("UsageReport", "gateway/reports/usage", "get")]
    [InlineData("UsageExport", "gateway/reports/export", "get")]
    [InlineData("SummaryReport", "gateway/reports/summary", "get")]
    [InlineData("SavingsReport", "gateway/savings", "get")]
    [InlineData("PutBudget", "gateway/budgets/{scope}", "put")]
    [InlineData("ListBudgets", "gateway/budgets", "get")]
    [InlineData("GetBudget", "gateway/budgets/{scope}", "get")]
    [InlineData("DeleteBudget", "gateway/budgets/{scope}", "delete")]
    [InlineData("BudgetAction", "gateway/budgets/{scope}/{action}", "post")]
    [InlineData("ListStops", "gateway/stops", "get")]
    [InlineData("PutStop", "gateway/stops/{target}/{name}", "put")]
    [InlineData("DeleteStop", "gateway/stops/{target}/{name}", "delete")]
    [InlineData("GetSafety", "gateway/safety", "get")]
    [InlineData("PutSafety", "gateway/safety", "put")]
    [InlineData("SimulateSafety", "gateway/safety/simulate", "post")]
    [InlineData("AuditEvents", "gateway/audit/events", "get")]
    [InlineData("AuditVerify", "gateway/audit/verify", "get")]
    [InlineData("AuditProof", "gateway/audit/proof", "get")]
    [InlineData("AuditConsistency", "gateway/audit/consistency", "get")]
    [InlineData("AuditCheckpoints", "gateway/audit/checkpoints", "get")]
    [InlineData("AuditPublicKey", "gateway/audit/public-key", "get")]
    [InlineData("AuditExport", "gateway/audit/export", "get")]
    [InlineData("AuditReport", "gateway/audit/report", "get")]
    [InlineData("ExportUserData", "gateway/users/{id}/data", "get")]
    [InlineData("Analytics", "gateway/analytics", "get")]
    [InlineData("EraseUserData", "gateway/users/{id}/data", "delete")]
    [InlineData("DashboardPage", "gateway/dashboard", "get")]
    [InlineData("DashboardAsset", "gateway/dashboard/assets/{name}", "get")]
    [InlineData("DashboardSignIn", "gateway/dashboard/session", "post")]
    [InlineData("DashboardSession", "gateway/dashboard/session", "get")]
    [InlineData("DashboardSignOut", "gateway/dashboard/session", "delete")]
    [InlineData("DashboardBreakers", "gateway/dashboard/breakers", "get")]
    [InlineData("Health", "health", "get")]
    [InlineData("HealthReady", "health/ready", "get")]
    public void Http_functions_have_their_route_method_and_anonymous_auth(string name, string route, string method)
    {
        var function = Metadata().Single(f => (string?)f!["name"] == name)!;
        var trigger = function["bindings"]!.AsArray().Single(b => (string?)b!["type"] == "httpTrigger")!;
        Assert.Equal(route, (string?)trigger["route"]);
        Assert.Equal([method], trigger["methods"]!.AsArray().Select(m => (string?)m));
        // The gateway authenticates with its own keys; host keys would break OpenAI SDK clients.
        Assert.Equal("Anonymous", (string?)trigger["authLevel"]);
        Assert.Equal("In", (string?)trigger["direction"]);
        Assert.Contains(function["bindings"]!.AsArray(), b => (string?)b!["type"] == "http" && (string?)b["direction"] == "Out");
    }

    [Theory]
    [InlineData("WriteUsage", UsageServices.Queue)]
    [InlineData("WriteAudit", AuditServices.Queue)]
    public void The_log_writers_are_triggered_by_their_queues_on_the_host_storage_connection(string name, string queue)
    {
        var function = Metadata().Single(f => (string?)f!["name"] == name)!;
        var trigger = function["bindings"]!.AsArray().Single()!;
        Assert.Equal("queueTrigger", (string?)trigger["type"]);
        Assert.Equal(queue, (string?)trigger["queueName"]);
        Assert.Equal("AzureWebJobsStorage", (string?)trigger["connection"]);
    }

    [Fact]
    public void Budgets_counters_quotas_and_stops_are_entities_reached_through_a_durable_client_and_no_orchestration()
    {
        var metadata = Metadata();
        foreach (var entity in new[] { "budget", "ratelimit", "upstream", "stops" })
            Assert.Equal("entityTrigger", (string?)metadata.Single(f => (string?)f!["name"] == entity)!["bindings"]![0]!["type"]);
        // nothing waits on an orchestration: signals go out and replies are read back from the entities' state
        Assert.DoesNotContain(metadata, f => f!["bindings"]!.AsArray().Any(b => (string?)b!["type"] == "orchestrationTrigger"));
        foreach (var name in new[] { "ChatCompletions", "PutBudget", "ListBudgets", "GetBudget", "DeleteBudget", "BudgetAction", "ListStops", "PutStop", "DeleteStop" })
        {
            Assert.Contains(metadata.Single(f => (string?)f!["name"] == name)!["bindings"]!.AsArray(), b => (string?)b!["type"] == "durableClient");
        }

        var alerts = metadata.Single(f => (string?)f!["name"] == "DeliverBudgetAlert")!["bindings"]![0]!;
        Assert.Equal(("queueTrigger", "budget-alert-webhooks"), ((string?)alerts["type"], (string?)alerts["queueName"]));
    }

    [Fact]
    public void The_models_route_is_the_only_route_under_v1_models()
    {
        // the host registers routes in function-name order: a second route there would be shadowed by {*id} or shadow it
        var routes = Metadata().SelectMany(f => f!["bindings"]!.AsArray()).Select(b => (string?)b!["route"]).Where(r => r?.StartsWith("v1/models", StringComparison.Ordinal) == true);
        Assert.Equal(["v1/models/{*id}"], routes);
    }

    [Theory]
    [InlineData("RollupUsage", "%GATEWAY_ROLLUP_SCHEDULE%")]
    [InlineData("UsageRetention", "%GATEWAY_RETENTION_SCHEDULE%")]
    [InlineData("SealAudit", "%GATEWAY_AUDIT_SEAL_SCHEDULE%")]
    [InlineData("AuditRetention", "%GATEWAY_AUDIT_RETENTION_SCHEDULE%")]
    public void Timers_run_on_the_schedules_their_app_settings_give(string name, string schedule)
    {
        var trigger = Metadata().Single(f => (string?)f!["name"] == name)!["bindings"]!.AsArray().Single()!;
        Assert.Equal("timerTrigger", (string?)trigger["type"]);
        Assert.Equal(schedule, (string?)trigger["schedule"]);
    }

    [Fact]
    public void The_analytics_snapshot_timer_runs_on_its_app_setting_and_reaches_the_budgets_through_a_durable_client()
    {
        var bindings = Metadata().Single(f => (string?)f!["name"] == "AnalyticsSnapshot")!["bindings"]!.AsArray();
        var trigger = bindings.Single(b => (string?)b!["type"] == "timerTrigger")!;
        Assert.Equal("%GATEWAY_ANALYTICS_SCHEDULE%", (string?)trigger["schedule"]);
        Assert.Contains(bindings, b => (string?)b!["type"] == "durableClient");
        Assert.Contains(Metadata().Single(f => (string?)f!["name"] == "Analytics")!["bindings"]!.AsArray(), b => (string?)b!["type"] == "durableClient");
        // the summary may compute the snapshot of its last day, which reads the budgets
        Assert.Contains(Metadata().Single(f => (string?)f!["name"] == "SummaryReport")!["bindings"]!.AsArray(), b => (string?)b!["type"] == "durableClient");
    }

    [Fact]
    public void No_route_uses_the_reserved_admin_prefix()
    {
        foreach (var function in Metadata())
        {
            var route = (string?)function!["bindings"]![0]!["route"];
            Assert.False(route?.StartsWith("admin", StringComparison.OrdinalIgnoreCase) ?? false, route);
        }
    }

    [Fact]
    public void Host_json_serves_routes_without_the_api_prefix()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(dir!.FullName, "host.json")))!;
        Assert.Equal("2.0", (string?)host["version"]);
        Assert.Equal("", (string?)host["extensions"]!["http"]!["routePrefix"]);
    }
}
