using Gateway.Core.Budgets;
using Gateway.Core.Entities;
using Gateway.Core.Health;
using Gateway.Core.Routing;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests.Health;

public sealed class EntityBackendCheckTests
{
    [Fact]
    public async Task The_entity_store_answering_is_healthy_with_or_without_a_stop_list()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
        var channel = LocalEntities.Create(time);
        var check = new EntityBackendCheck(channel);

        Assert.Equal(HealthProbe.Healthy("entity store answered (no stop list stored yet)"), await check.CheckAsync(CancellationToken.None));
        var reads = channel.Reads;

        await new UpstreamGate(channel, time, new UpstreamOptions()).ChangeStopsAsync(new StopCommand(true, StopTarget.Model, "m1"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(HealthProbe.Healthy("entity store answered"), await check.CheckAsync(CancellationToken.None));
        Assert.Equal("durable", check.Name);
        Assert.True(channel.Reads > reads);
    }

    [Fact]
    public async Task A_store_that_fails_makes_the_durable_check_unhealthy_without_its_message()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
        var channel = new TestEntityChannel(time) { ReadFailure = new IOException("DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=c2VjcmV0") };
        var probe = new ReadinessProbe([new EntityBackendCheck(channel)], () => [], new HealthOptions(), time);

        var report = await probe.ReportAsync(CancellationToken.None);

        Assert.Equal(503, report.HttpStatus);
        Assert.Equal(new HealthCheckResult("durable", HealthStatus.Unhealthy, TimeSpan.Zero, "failed: IOException"), report.Checks.Single());
    }
}
