using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace Gateway.Storage;

/// <summary>
/// Builds Table and Queue clients the way the Functions host reads <c>AzureWebJobsStorage</c>: a
/// connection string (Azurite, local), or identity-based (<c>AzureWebJobsStorage__accountName</c>, or
/// explicit service URIs) with the app's managed identity.
/// </summary>
public sealed class StorageConnection
{
    private readonly string? _connectionString;
    private readonly Uri? _tableUri;
    private readonly Uri? _queueUri;
    private readonly Uri? _blobUri;
    private readonly TokenCredential? _credential;

    private StorageConnection(string? connectionString, Uri? tableUri, Uri? queueUri, TokenCredential? credential, Uri? blobUri = null)
    {
        _blobUri = blobUri;
        _connectionString = connectionString;
        _tableUri = tableUri;
        _queueUri = queueUri;
        _credential = credential;
    }

    public static StorageConnection FromConnectionString(string connectionString) => new(connectionString, null, null, null);

    /// <summary>Reads the <c>AzureWebJobsStorage</c> connection as the Functions host does.</summary>
    public static StorageConnection FromConfiguration(IConfiguration configuration, string name = "AzureWebJobsStorage")
    {
        var value = configuration[name];
        if (!string.IsNullOrEmpty(value)) return FromConnectionString(value);
        var section = configuration.GetSection(name);
        var account = section["accountName"];
        var tableUri = section["tableServiceUri"] is { } t ? new Uri(t) : account is null ? null : new Uri($"https://{account}.table.core.windows.net");
        var queueUri = section["queueServiceUri"] is { } q ? new Uri(q) : account is null ? null : new Uri($"https://{account}.queue.core.windows.net");
        var blobUri = section["blobServiceUri"] is { } b ? new Uri(b) : account is null ? null : new Uri($"https://{account}.blob.core.windows.net");
        if (tableUri is null || queueUri is null)
            throw new InvalidOperationException($"Storage is not configured: set '{name}' to a connection string, or '{name}__accountName' for identity-based access.");
        var clientId = section["clientId"];
        TokenCredential credential = clientId is null ? new DefaultAzureCredential() : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        return new StorageConnection(null, tableUri, queueUri, credential, blobUri);
    }

    public TableClient Table(string tableName) =>
        _connectionString is not null ? new TableClient(_connectionString, tableName) : new TableClient(_tableUri!, tableName, _credential!);

    /// <summary>A table client with client options (retries, timeouts) for its use.</summary>
    public TableClient Table(string tableName, TableClientOptions options) =>
        _connectionString is not null ? new TableClient(_connectionString, tableName, options) : new TableClient(_tableUri!, tableName, _credential!, options);

    /// <summary>A blob named <c>container/name</c>.</summary>
    public BlobClient Blob(string path)
    {
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == path.Length - 1) throw new ArgumentException($"'{path}' is not container/name.", nameof(path));
        var container = path[..slash];
        var name = path[(slash + 1)..];
        if (_connectionString is not null) return new BlobClient(_connectionString, container, name);
        if (_blobUri is null) throw new InvalidOperationException("Storage is not configured for blobs: set 'AzureWebJobsStorage__blobServiceUri' or '__accountName'.");
        return new BlobClient(new Uri(_blobUri, $"{container}/{name}"), _credential!);
    }

    /// <summary>A blob container, with client options (retries, timeouts) for its use.</summary>
    public BlobContainerClient BlobContainer(string containerName, BlobClientOptions? options = null)
    {
        if (_connectionString is not null) return new BlobContainerClient(_connectionString, containerName, options);
        if (_blobUri is null) throw new InvalidOperationException("Storage is not configured for blobs: set 'AzureWebJobsStorage__blobServiceUri' or '__accountName'.");
        return new BlobContainerClient(new Uri(_blobUri, containerName), _credential!, options);
    }

    public QueueClient Queue(string queueName) =>
        _connectionString is not null ? new QueueClient(_connectionString, queueName) : new QueueClient(new Uri(_queueUri!, queueName), _credential!);

    /// <summary>A queue client with client options (retries, timeouts) for its use.</summary>
    public QueueClient Queue(string queueName, QueueClientOptions options) =>
        _connectionString is not null ? new QueueClient(_connectionString, queueName, options) : new QueueClient(new Uri(_queueUri!, queueName), _credential!, options);
}
