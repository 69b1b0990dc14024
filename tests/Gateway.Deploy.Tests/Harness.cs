using System.IO.Compression;
using System.Text;
using Azure.Storage.Blobs;
using Gateway.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Deploy.Tests;

/// <summary>A deployment container on Azurite, a fake ARM, a test clock, and a publisher that zips a small folder.</summary>
public sealed class Harness : IDisposable
{
    public const string AppId = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-llm-gateway/providers/Microsoft.Web/sites/func-llmgw-dev-abc";
    public const string Token = "test-arm-token-8d1f52c0";

    private readonly HttpClient _http = new();
    private readonly string _connection;

    public Harness(AzuriteFixture azurite)
    {
        ContainerName = azurite.UniqueName("app-package");
        _connection = azurite.ConnectionString;
        Container = new BlobContainerClient(_connection, ContainerName);
        Container.Create();
        ContainerUrl = Container.Uri.ToString();
        Work = Directory.CreateTempSubdirectory("gateway-deploy-tests-").FullName;
    }

    public string ContainerName { get; }
    public BlobContainerClient Container { get; }
    public string ContainerUrl { get; }
    public FakeArm Arm { get; } = new();
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 2, 6, 0, 0, TimeSpan.Zero));
    public RecordingPublisher Publisher { get; } = new();
    public string Work { get; }
    public string Sha { get; set; } = "3f29d43a1b2c";
    public StringWriter Out { get; private set; } = new();
    public StringWriter Error { get; private set; } = new();

    /// <summary>Runs the tool in process with this harness's storage, ARM and token; returns the exit code.</summary>
    public async Task<int> RunAsync(params string[] args)
    {
        Out = new StringWriter();
        Error = new StringWriter();
        var environment = new Dictionary<string, string>
        {
            [DeployCli.StorageVariable] = _connection,
            [DeployCli.ArmEndpointVariable] = Arm.Endpoint.ToString(),
            [DeployCli.AccessTokenVariable] = Token,
        };
        return await DeployCli.RunAsync(args, new DeployContext
        {
            Environment = name => environment.GetValueOrDefault(name),
            Out = Out,
            Error = Error,
            Time = Time,
            Publisher = Publisher,
            Http = _http,
            GitSha = _ => Task.FromResult(Sha),
        });
    }

    /// <summary>A zip with one file whose text is <paramref name="marker"/>.</summary>
    public string MakeZip(string marker)
    {
        var path = Path.Combine(Work, marker + ".zip");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using var writer = new StreamWriter(zip.CreateEntry("marker.txt").Open(), Encoding.UTF8);
        writer.Write(marker);
        return path;
    }

    /// <summary>The marker inside a blob's zip.</summary>
    public async Task<string> MarkerOf(string blobName)
    {
        var content = await Container.GetBlobClient(blobName).DownloadContentAsync();
        using var zip = new ZipArchive(content.Value.Content.ToStream());
        using var reader = new StreamReader(zip.GetEntry("marker.txt")!.Open());
        return await reader.ReadToEndAsync();
    }

    public async Task<List<string>> BlobNames()
    {
        var names = new List<string>();
        await foreach (var blob in Container.GetBlobsAsync()) names.Add(blob.Name);
        return names;
    }

    public void Dispose()
    {
        Arm.Dispose();
        _http.Dispose();
        Container.DeleteIfExists();
        Directory.Delete(Work, recursive: true);
    }
}

/// <summary>Stands in for dotnet publish: records the project and writes a zip whose marker names the publish.</summary>
public sealed class RecordingPublisher : IPublisher
{
    public List<string> Projects { get; } = [];

    public Task PublishAsync(string project, string zip, CancellationToken cancellationToken)
    {
        Projects.Add(project);
        using var archive = ZipFile.Open(zip, ZipArchiveMode.Create);
        using var writer = new StreamWriter(archive.CreateEntry("marker.txt").Open(), Encoding.UTF8);
        writer.Write($"published-{Projects.Count}");
        return Task.CompletedTask;
    }
}
