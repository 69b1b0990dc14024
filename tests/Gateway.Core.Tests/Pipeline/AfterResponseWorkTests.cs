using Gateway.Core.Hosting;

namespace Gateway.Core.Tests.Pipeline;

/// <summary>Work after the response: never awaited by the request, always awaited by a shutdown.</summary>
public sealed class AfterResponseWorkTests
{
    [Fact]
    public async Task A_shutdown_waits_for_requests_in_flight_and_then_for_their_work()
    {
        var failures = new List<Exception>();
        var work = new AfterResponseWork(failures.Add);
        var done = 0;
        var request = work.BeginRequest();
        var drained = work.DrainAsync(default);
        await Task.Delay(50);
        Assert.False(drained.IsCompleted);

        // the request ends and leaves work behind: the drain waits for that too
        var release = new TaskCompletionSource();
        work.Run(async () =>
        {
            await release.Task;
            Interlocked.Increment(ref done);
        });
        work.Run(() => throw new InvalidOperationException("boom"));
        request.Dispose();
        await Task.Delay(50);
        Assert.False(drained.IsCompleted);
        release.SetResult();
        await drained;
        Assert.Equal(1, done);
        Assert.Single(failures);
    }

    [Fact]
    public async Task A_drain_gives_up_when_its_time_is_up()
    {
        var work = new AfterResponseWork();
        using var stuck = work.BeginRequest();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await work.DrainAsync(timeout.Token);
        Assert.Equal(1, work.Requests);
    }
}
