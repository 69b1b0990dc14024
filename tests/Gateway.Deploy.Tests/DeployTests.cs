using Gateway.Testing;

namespace Gateway.Deploy.Tests;

/// <summary>deploy, rollback and list against a deployment container on Azurite and a local ARM.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class DeployTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Deploy_keeps_the_package_releases_it_restarts_the_app_and_keeps_the_last_five()
    {
        using var h = new Harness(azurite);
        for (var i = 1; i <= 7; i++)
        {
            h.Sha = $"sha{i}";
            Assert.Equal(0, await h.RunAsync("deploy", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId));
            h.Time.Advance(TimeSpan.FromMinutes(10));
        }

        // published from src/Functions each time, named by time and commit; the oldest two deleted
        Assert.Equal(Enumerable.Repeat("src/Functions", 7), h.Publisher.Projects);
        Assert.Equal(
            ["packages/20261202T062000Z-sha3.zip", "packages/20261202T063000Z-sha4.zip", "packages/20261202T064000Z-sha5.zip",
             "packages/20261202T065000Z-sha6.zip", "packages/20261202T070000Z-sha7.zip", "released-package.zip"],
            (await h.BlobNames()).Order(StringComparer.Ordinal));
        Assert.Equal("published-7", await h.MarkerOf("released-package.zip"));
        Assert.Equal("published-7", await h.MarkerOf("packages/20261202T070000Z-sha7.zip"));
        Assert.Contains("deleted packages/20261202T061000Z-sha2.zip (keeping 5)", h.Out.ToString(), StringComparison.Ordinal);

        // each deployment: restart, then sync triggers, on the app's resource ID, with the api-version and the bearer token
        var calls = h.Arm.Calls.ToList();
        Assert.Equal(14, calls.Count);
        Assert.All(calls, c => Assert.Equal(("POST", "2024-11-01", "Bearer " + Harness.Token), (c.Method, c.ApiVersion, c.Authorization)));
        Assert.Equal(Enumerable.Range(0, 7).SelectMany(_ => new[] { Harness.AppId + "/restart", Harness.AppId + "/syncfunctiontriggers" }), calls.Select(c => c.Path));
        Assert.DoesNotContain(Harness.Token, h.Out + h.Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollback_puts_the_previous_package_back_and_restarts_then_goes_further_back_or_to_a_named_one()
    {
        using var h = new Harness(azurite);
        foreach (var marker in new[] { "a", "b", "c" })
        {
            h.Sha = marker + "1";
            Assert.Equal(0, await h.RunAsync("deploy", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--package", h.MakeZip(marker)));
            h.Time.Advance(TimeSpan.FromHours(1));
        }

        Assert.Empty(h.Publisher.Projects);
        var callsBefore = h.Arm.Calls.Count;
        Assert.Equal(0, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId));
        Assert.Equal("b", await h.MarkerOf("released-package.zip"));
        Assert.Contains("rolling back from 20261202T080000Z-c1.zip to 20261202T070000Z-b1.zip", h.Out.ToString(), StringComparison.Ordinal);
        Assert.Equal([Harness.AppId + "/restart", Harness.AppId + "/syncfunctiontriggers"], h.Arm.Calls.Skip(callsBefore).Select(c => c.Path));

        Assert.Equal(0, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId));
        Assert.Equal("a", await h.MarkerOf("released-package.zip"));
        // nothing before the oldest: refused, the released package unchanged
        Assert.Equal(1, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId));
        Assert.Contains("is the oldest package kept", h.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal("a", await h.MarkerOf("released-package.zip"));

        Assert.Equal(0, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--to", "20261202T080000Z-c1.zip"));
        Assert.Equal("c", await h.MarkerOf("released-package.zip"));
        Assert.Equal(1, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--to", "20261202T080000Z-c1.zip"));
        Assert.Contains("is the released package already", h.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--to", "nope.zip"));

        Assert.Equal(0, await h.RunAsync("list", "--container-url", h.ContainerUrl));
        Assert.Equal(["  20261202T060000Z-a1.zip", "  20261202T070000Z-b1.zip", "* 20261202T080000Z-c1.zip"],
            h.Out.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Pruning_never_deletes_the_released_package_even_when_it_is_old()
    {
        using var h = new Harness(azurite);
        foreach (var marker in new[] { "a", "b", "c" })
        {
            h.Sha = marker;
            Assert.Equal(0, await h.RunAsync("deploy", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--package", h.MakeZip(marker)));
            h.Time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(0, await h.RunAsync("rollback", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--to", "20261202T060000Z-a.zip"));
        var deleted = await new PackageStore(h.Container).PruneAsync(1, default);
        Assert.Equal(["20261202T060100Z-b.zip"], deleted);
        Assert.Equal(["20261202T060000Z-a.zip", "20261202T060200Z-c.zip"], await new PackageStore(h.Container).ListAsync(default));
        Assert.Equal("a", await h.MarkerOf("released-package.zip"));
    }

    [Fact]
    public async Task A_failed_restart_is_reported_with_ARM_s_error_and_exit_1_and_no_token_is_printed()
    {
        using var h = new Harness(azurite);
        h.Arm.FailWith = (409, "Conflict", "The site is being updated.");
        Assert.Equal(1, await h.RunAsync("deploy", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--package", h.MakeZip("a")));
        Assert.Contains("Azure Resource Manager answered 409 to restart of " + Harness.AppId + ": Conflict: The site is being updated.", h.Error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.Token, h.Out + h.Error.ToString(), StringComparison.Ordinal);
        // the package is kept and released: a second deploy or a restart finishes the job
        Assert.Contains("released-package.zip", await h.BlobNames());
    }

    [Theory]
    [InlineData(2, "unknown option '--force' for deploy", "deploy", "--force", "x")]
    [InlineData(2, "unknown command 'ship'", "ship")]
    [InlineData(2, "--keep needs a value", "deploy", "--container-url", "URL", "--app-id", Harness.AppId, "--keep")]
    [InlineData(1, "--keep must be a whole number, 1 or more", "deploy", "--container-url", "URL", "--app-id", Harness.AppId, "--keep", "0")]
    [InlineData(1, "--app-id must be a function app's resource ID", "deploy", "--container-url", "URL", "--app-id", "func-llmgw")]
    [InlineData(1, "--app-id is required", "rollback", "--container-url", "URL")]
    [InlineData(1, "--container-url must be the container's URL", "list", "--container-url", "not a url")]
    [InlineData(1, "--package missing.zip: no such file", "deploy", "--container-url", "URL", "--app-id", Harness.AppId, "--package", "missing.zip")]
    [InlineData(1, "--sha must be letters and digits", "deploy", "--container-url", "URL", "--app-id", Harness.AppId, "--sha", "a;b")]
    public async Task Bad_arguments_are_refused_naming_the_problem_and_nothing_is_uploaded(int exit, string message, params string[] args)
    {
        using var h = new Harness(azurite);
        Assert.Equal(exit, await h.RunAsync(args.Select(a => a == "URL" ? h.ContainerUrl : a).ToArray()));
        Assert.Contains(message, h.Error.ToString(), StringComparison.Ordinal);
        Assert.Empty(await h.BlobNames());
        Assert.Empty(h.Arm.Calls);
    }

    [Fact]
    public async Task Without_a_connection_string_the_container_url_must_be_https()
    {
        using var http = new HttpClient();
        var error = new StringWriter();
        var code = await DeployCli.RunAsync(["list", "--container-url", "http://127.0.0.1:1/devstoreaccount1/app-package"], new DeployContext
        {
            Environment = _ => null, Out = new StringWriter(), Error = error, Publisher = new RecordingPublisher(), Http = http,
        });
        Assert.Equal(1, code);
        Assert.Contains("--container-url must be https", error.ToString(), StringComparison.Ordinal);
    }
}
