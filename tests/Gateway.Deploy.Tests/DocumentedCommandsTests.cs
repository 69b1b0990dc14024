using System.Text.RegularExpressions;
using Gateway.Testing;

namespace Gateway.Deploy.Tests;

/// <summary>
/// Every command in the operations docs is exercised: the deploy tool's command lines run as written (Azurite, the local
/// ARM), the gateway calls name real routes, and the az/azd lines name files and outputs that exist (the Bicep and its
/// parameters files are built by infra/validate.sh; az and Azure are not reachable here).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class DocumentedCommandsTests(AzuriteFixture azurite)
{
    private static readonly string[] Docs = ["docs/deploy.md", "docs/runbook.md", "docs/readiness-checklist.md", "docs/migration.md"];

    /// <summary>The command lines of the docs' bash blocks, then of the README's Deploying section; trailing comments dropped.</summary>
    private static IEnumerable<(string Doc, string Line)> CommandLines()
    {
        var readme = Repo.Read("README.md");
        var deploying = readme[readme.IndexOf("\n## Deploying\n", StringComparison.Ordinal)..];
        deploying = deploying[..deploying.IndexOf("\n## ", 5, StringComparison.Ordinal)];
        return Docs.Select(doc => (Doc: doc, Text: Repo.Read(doc))).Append((Doc: "README.md#deploying", Text: deploying))
            .SelectMany(d => Repo.Blocks(d.Text, "bash").SelectMany(block => block.Split('\n'))
                .Select(line => TrailingCommentRegex().Replace(line, "").Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')).Select(line => (d.Doc, line)));
    }

    [Fact]
    public async Task The_deploy_tool_s_documented_command_lines_run_as_written()
    {
        using var h = new Harness(azurite);
        // a package deployed before the documented ones, at the time and commit the docs' rollback --to names
        h.Sha = "3f29d43a1b2c";
        h.Time.SetUtcNow(new DateTimeOffset(2026, 12, 2, 6, 15, 0, TimeSpan.Zero));
        Assert.Equal(0, await h.RunAsync("deploy", "--container-url", h.ContainerUrl, "--app-id", Harness.AppId, "--package", h.MakeZip("before")));
        h.Time.Advance(TimeSpan.FromMinutes(15));
        h.Sha = "9c4e1b7d2a01";
        var queue = azurite.UniqueName("q");
        var variables = new Dictionary<string, string>
        {
            ["CONTAINER_URL"] = h.ContainerUrl,
            ["APP_ID"] = Harness.AppId,
            ["PACKAGE"] = h.MakeZip("ci-build"),
            ["QUEUE_URL"] = "http://127.0.0.1:10001/devstoreaccount1/",
        };

        var ran = new List<string>();
        foreach (var (doc, line) in CommandLines())
        {
            string[]? args = null;
            var words = Repo.Words(line.Replace("--queue usage-records", "--queue " + queue, StringComparison.Ordinal), variables);
            if (words[0] == "tools/deploy.sh") args = ["deploy", .. words.Skip(1)];
            else if (words[0] == "tools/rollback.sh") args = ["rollback", .. words.Skip(1)];
            else if (words.Take(4).SequenceEqual(["dotnet", "run", "--project", "tools/Deploy"]) && words[4] == "--") args = [.. words.Skip(5)];
            if (args is null) continue;
            if (doc.StartsWith("README", StringComparison.Ordinal) && args[0] == "deploy")
                Assert.Equal("before", await h.MarkerOf("released-package.zip")); // where docs/deploy.md's rollback --to left it
            var code = await h.RunAsync(args);
            Assert.True(code == 0, $"{doc}: `{line}` exited {code}: {h.Error}");
            ran.Add(args[0]);
            h.Time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(["deploy", "deploy", "list", "rollback", "rollback", "poison", "poison", "deploy", "rollback"], ran);
        // the documented deploys published src/Functions; the README's rollback put back the package before its deploy's
        Assert.Equal(["src/Functions", "src/Functions"], h.Publisher.Projects);
        Assert.Equal("ci-build", await h.MarkerOf("released-package.zip"));
        Assert.Equal(14, h.Arm.Calls.Count);
    }

    [Fact]
    public void Every_other_documented_command_names_a_real_route_file_output_or_az_command()
    {
        var routes = Repo.Routes();
        var outputs = OutputRegex().Matches(Repo.Read("infra/bicep/main.bicep")).Select(m => m.Groups[1].Value).ToHashSet();
        var parameterFiles = Directory.GetFiles(Path.Combine(Repo.Root, "infra", "bicep"), "*.bicepparam").Select(f => "infra/bicep/" + Path.GetFileName(f)).ToHashSet();
        var azCommands = new[]
        {
            "az group create", "az deployment group create", "az deployment group show", "az keyvault secret set", "az keyvault secret show",
            "azd env new", "azd env set", "azd up",
        };
        var checkedLines = 0;
        foreach (var (doc, raw) in CommandLines())
        {
            var line = raw;
            if (line.StartsWith("tools/", StringComparison.Ordinal) || line.StartsWith("dotnet run --project tools/Deploy -- ", StringComparison.Ordinal)) continue;
            checkedLines++;
            // $(…): an az command (checked like the others) or openssl rand
            foreach (Match inner in SubstitutionRegex().Matches(line))
            {
                var command = inner.Groups[1].Value;
                Assert.True(command.StartsWith("openssl rand -base64 ", StringComparison.Ordinal) || azCommands.Any(c => command.StartsWith(c + " ", StringComparison.Ordinal)),
                    $"{doc}: `{command}` in `{raw}` is not a known command");
                CheckOutputs(command, outputs, doc);
            }

            var command0 = SubstitutionRegex().Replace(line, "VALUE");
            command0 = LeadingAssignmentsRegex().Replace(command0, "");
            if (command0.Length == 0) continue;
            if (command0.StartsWith("curl ", StringComparison.Ordinal))
            {
                var url = Regex.Match(command0, @"""\$GATEWAY/([^""?]+)[^""]*""").Groups[1].Value;
                Assert.True(url.Length > 0, $"{doc}: `{raw}` calls no $GATEWAY route");
                Assert.True(routes.Any(r => Repo.MatchesRoute(url, r)), $"{doc}: `{raw}` calls /{url}, which is no route of the app");
                continue;
            }

            var known = azCommands.FirstOrDefault(c => command0.StartsWith(c, StringComparison.Ordinal));
            Assert.True(known is not null, $"{doc}: `{raw}` is a command no test covers");
            if (known == "az deployment group create")
            {
                Assert.Contains("-f infra/bicep/main.bicep ", command0 + " ", StringComparison.Ordinal);
                var parameters = Regex.Match(command0, @"-p (\S+)").Groups[1].Value;
                Assert.Contains(parameters, parameterFiles);
                Assert.Contains("using 'main.bicep'", Repo.Read(parameters), StringComparison.Ordinal);
            }
        }

        Assert.True(checkedLines >= 20, $"only {checkedLines} command lines found in the docs");
    }

    private static void CheckOutputs(string command, IReadOnlySet<string> outputs, string doc)
    {
        foreach (Match m in Regex.Matches(command, @"properties\.outputs\.(\w+)\.value"))
            Assert.True(outputs.Contains(m.Groups[1].Value), $"{doc}: `{command}` reads output {m.Groups[1].Value}, which main.bicep does not have");
    }

    [Fact]
    public async Task The_wrapper_scripts_run_the_tool()
    {
        foreach (var script in new[] { "tools/deploy.sh", "tools/rollback.sh" })
        {
            var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.Root };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add("--help");
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"{script} --help exited {process.ExitCode}: {await error}");
            Assert.Contains("deploy   --container-url <url> --app-id <resource id>", await output, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"\s+#\s.*$")]
    private static partial Regex TrailingCommentRegex();

    [GeneratedRegex(@"^output (\w+) ", RegexOptions.Multiline)]
    private static partial Regex OutputRegex();

    [GeneratedRegex(@"\$\(([^()]*)\)")]
    private static partial Regex SubstitutionRegex();

    [GeneratedRegex(@"^(export )?([A-Z_]+=(""[^""]*""|\S+)\s*)+")]
    private static partial Regex LeadingAssignmentsRegex();
}
