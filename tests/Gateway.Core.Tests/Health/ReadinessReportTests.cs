using Gateway.Core.Health;

namespace Gateway.Core.Tests.Health;

public sealed class ReadinessReportTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 0, 0, 250, TimeSpan.Zero);

    private static HealthCheckResult Check(string name, HealthStatus status) => new(name, status, TimeSpan.FromMilliseconds(12.34), "detail of " + name);

    private static DeploymentHealth Deployment(string name, HealthStatus status) =>
        new(name, status, status == HealthStatus.Healthy ? "closed" : "open", "circuit");

    [Theory]
    [InlineData(HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Healthy, 200)]
    [InlineData(HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Degraded, HealthStatus.Degraded, 200)]
    [InlineData(HealthStatus.Degraded, HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Degraded, 200)]
    [InlineData(HealthStatus.Unhealthy, HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Unhealthy, 503)]
    [InlineData(HealthStatus.Healthy, HealthStatus.Unhealthy, HealthStatus.Degraded, HealthStatus.Unhealthy, 503)]
    [InlineData(HealthStatus.Degraded, HealthStatus.Unhealthy, HealthStatus.Healthy, HealthStatus.Unhealthy, 503)]
    public void A_failed_dependency_makes_it_unready_and_a_deployment_out_of_service_only_degraded(HealthStatus storage, HealthStatus durable,
        HealthStatus deployment, HealthStatus expected, int http)
    {
        var report = ReadinessReport.Create([Check("table", storage), Check("durable", durable)], [Deployment("east", deployment), Deployment("west", HealthStatus.Healthy)], At);

        Assert.Equal(expected, report.Status);
        Assert.Equal(http, report.HttpStatus);
    }

    [Fact]
    public void Every_deployment_out_of_service_still_leaves_the_instance_ready()
    {
        var report = ReadinessReport.Create([Check("table", HealthStatus.Healthy)],
            [Deployment("east", HealthStatus.Degraded), Deployment("west", HealthStatus.Degraded)], At);

        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Equal(200, report.HttpStatus);
    }

    [Fact]
    public void The_json_has_the_status_the_time_each_check_and_each_deployment()
    {
        var json = ReadinessReport.Create([Check("table", HealthStatus.Healthy), Check("durable", HealthStatus.Unhealthy)],
            [Deployment("east", HealthStatus.Degraded)], At).ToJson();

        Assert.Equal(["status", "checked_at", "checks", "deployments"], json.Select(p => p.Key));
        Assert.Equal("unhealthy", (string?)json["status"]);
        Assert.Equal("2026-11-25T10:00:00.250Z", (string?)json["checked_at"]);
        var durable = json["checks"]![1]!.AsObject();
        Assert.Equal(["name", "status", "duration_ms", "detail"], durable.Select(p => p.Key));
        Assert.Equal("durable", (string?)durable["name"]);
        Assert.Equal("unhealthy", (string?)durable["status"]);
        Assert.Equal(12.3, (double)durable["duration_ms"]!);
        Assert.Equal("detail of durable", (string?)durable["detail"]);
        var east = json["deployments"]![0]!.AsObject();
        Assert.Equal(["name", "status", "breaker", "detail"], east.Select(p => p.Key));
        Assert.Equal("degraded", (string?)east["status"]);
        Assert.Equal("open", (string?)east["breaker"]);
    }

    [Fact]
    public void Liveness_says_healthy_and_nothing_else()
    {
        Assert.Equal("""{"status":"healthy"}""", HealthJson.Liveness().ToJsonString());
    }

    [Theory]
    [InlineData(3, 2, 0)]
    [InlineData(0, 2, 1)]
    [InlineData(61, 2, 1)]
    [InlineData(double.NaN, 2, 1)]
    [InlineData(3, -1, 1)]
    [InlineData(3, 301, 1)]
    [InlineData(-1, double.NaN, 2)]
    public void Options_are_validated_naming_each_bad_setting(double timeout, double cache, int errors)
    {
        var found = new HealthOptions { CheckTimeoutSeconds = timeout, CacheSeconds = cache }.Validate();

        Assert.Equal(errors, found.Count);
        Assert.All(found, e => Assert.StartsWith("Gateway:Health:", e, StringComparison.Ordinal));
    }
}
