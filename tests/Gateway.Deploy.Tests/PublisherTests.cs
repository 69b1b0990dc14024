using System.IO.Compression;

namespace Gateway.Deploy.Tests;

/// <summary>The real publisher: dotnet publish of a small project, zipped with the files at the root.</summary>
public sealed class PublisherTests
{
    [Fact]
    public async Task Dotnet_publish_output_is_zipped_with_its_files_at_the_root()
    {
        var work = Directory.CreateTempSubdirectory("gateway-publish-test-").FullName;
        try
        {
            var project = Path.Combine(work, "tiny");
            Directory.CreateDirectory(project);
            // outside the repository: no Directory.Build.props or central package versions apply
            File.WriteAllText(Path.Combine(project, "tiny.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><TargetFramework>net10.0</TargetFramework><OutputType>Library</OutputType></PropertyGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(project, "Tiny.cs"), "namespace Tiny; public static class Marker { public const int Value = 42; }");
            var zip = Path.Combine(work, "out.zip");
            var log = new StringWriter();
            await new DotnetPublisher(log).PublishAsync(project, zip, default);

            using var archive = ZipFile.OpenRead(zip);
            Assert.Contains(archive.Entries, e => e.FullName == "tiny.dll");
            Assert.Contains($"dotnet publish {project} -c Release", log.ToString(), StringComparison.Ordinal);
            // the temporary publish folder is gone
            Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "gateway-deploy-*"), d => Directory.GetFiles(d, "tiny.dll").Length > 0);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task A_failed_publish_is_reported_with_dotnet_s_output()
    {
        var work = Directory.CreateTempSubdirectory("gateway-publish-test-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(work, "broken.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>
                """);
            File.WriteAllText(Path.Combine(work, "Broken.cs"), "namespace Broken; public class X { this does not compile }");
            var error = await Assert.ThrowsAsync<DeployException>(() => new DotnetPublisher(new StringWriter()).PublishAsync(work, Path.Combine(work, "out.zip"), default));
            Assert.Contains("dotnet publish", error.Message, StringComparison.Ordinal);
            Assert.Contains("error CS", error.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(work, "out.zip")));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
