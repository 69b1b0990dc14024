using System.Diagnostics;
using System.IO.Compression;

namespace Gateway.Deploy;

/// <summary>Builds the deployment package of a Functions project: a zip of its publish output.</summary>
public interface IPublisher
{
    Task PublishAsync(string project, string zip, CancellationToken cancellationToken);
}

/// <summary><c>dotnet publish -c Release</c> into a temporary folder, then a zip of that folder (the files at its root).</summary>
public sealed class DotnetPublisher(TextWriter log) : IPublisher
{
    public async Task PublishAsync(string project, string zip, CancellationToken cancellationToken)
    {
        var output = Path.Combine(Path.GetTempPath(), "gateway-deploy-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "publish", project, "-c", "Release", "-o", output, "-nologo", "-v", "quiet" }) start.ArgumentList.Add(arg);
            log.WriteLine($"dotnet publish {project} -c Release");
            using var process = Process.Start(start) ?? throw new DeployException("could not start dotnet");
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw new DeployException($"dotnet publish {project} failed (exit {process.ExitCode}):{Environment.NewLine}{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
            if (File.Exists(zip)) File.Delete(zip);
            ZipFile.CreateFromDirectory(output, zip, CompressionLevel.Optimal, includeBaseDirectory: false);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }
}
