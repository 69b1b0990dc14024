using Gateway.Core.Audit;
using Gateway.Core.Configuration;
using Gateway.Core.Providers;
using Gateway.Core.Telemetry;
using Gateway.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Functions;

/// <summary>The audit log's storage, queue, batcher and signing key, built from the storage connection and settings.</summary>
public sealed partial class AuditServices : IDisposable
{
    public const string Queue = "audit-events";
    public const string PoisonQueue = "audit-events-poison";
    public const string EntriesTable = "auditlog";
    public const string CheckpointsTable = "auditcheckpoints";
    /// <summary>The checkpoints' write-once copies (the Bicep template puts an immutability policy on it).</summary>
    public const string CheckpointContainer = "audit-checkpoints";

    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<HttpClient> _http;
    private readonly IAccessTokenSource _tokens;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _opening = new(1, 1);
    private AuditLog? _log;

    /// <param name="prefix">Prefixes every table, queue and container name (tests isolate themselves with it).</param>
    public AuditServices(StorageConnection storage, GatewayOptions options, TimeProvider time, Func<HttpClient> http, IAccessTokenSource tokens,
        ILoggerFactory? logging = null, GatewayMetrics? metrics = null, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(storage);
        _options = options;
        _time = time;
        _http = http;
        _tokens = tokens;
        _logger = (logging ?? NullLoggerFactory.Instance).CreateLogger("Gateway.Audit");
        Store = new TableAuditLogStore(storage.Table(prefix + EntriesTable), storage.Table(prefix + CheckpointsTable), storage.BlobContainer(prefix + CheckpointContainer));
        QueueClient = storage.Queue(prefix + Queue);
        PoisonQueueClient = storage.Queue(prefix + PoisonQueue);
        Batcher = new AuditBatcher(new QueueAuditBatchSender(QueueClient), time, options.Audit.Batching,
            dropped =>
            {
                metrics?.RecordUsageDropped(dropped);
                LogDropped(_logger, dropped);
            },
            ex => LogSendFailed(_logger, ex));
    }

    public TableAuditLogStore Store { get; }
    public Azure.Storage.Queues.QueueClient QueueClient { get; }
    public Azure.Storage.Queues.QueueClient PoisonQueueClient { get; }
    /// <summary>Where the gateway's audit events go: batched in memory, sent to the audit queue every second.</summary>
    public AuditBatcher Batcher { get; }

    /// <summary>The log, with its signing key opened on first use (Key Vault in Azure, a local file in development).</summary>
    public async Task<AuditLog> LogAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _log) is { } log) return log;
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_log is not null) return _log;
            ICheckpointSigner signer;
            CheckpointVerifier verifier;
            if (_options.Audit.SigningKeyVaultKeyId is { Length: > 0 } keyId)
            {
                var vault = await KeyVaultCheckpointSigner.OpenAsync(_http(), _tokens, keyId, cancellationToken).ConfigureAwait(false);
                (signer, verifier) = (vault, CheckpointVerifier.FromPublicKey(vault.PublicKey));
            }
            else
            {
                var path = _options.Audit.SigningKeyFullPath();
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var file = EcdsaFileSigner.LoadOrCreate(path);
                LogLocalKey(_logger, path);
                (signer, verifier) = (file, CheckpointVerifier.FromPem(file.PublicKeyPem));
            }

            return _log = new AuditLog(Store, signer, verifier, _options.Audit, _time);
        }
        finally
        {
            _opening.Release();
        }
    }

    public void Dispose() => _opening.Dispose();

    [LoggerMessage(3201, LogLevel.Error, "Audit: {Count} events dropped: the audit queue has been unreachable long enough to fill the spool.")]
    private static partial void LogDropped(ILogger logger, int count);

    [LoggerMessage(3202, LogLevel.Warning, "Audit: the audit queue could not be reached; the events stay spooled and are sent again.")]
    private static partial void LogSendFailed(ILogger logger, Exception exception);

    [LoggerMessage(3203, LogLevel.Warning, "Audit: checkpoints are signed with the local key file {Path} (development); set Gateway:Audit:SigningKeyVaultKeyId to sign with a Key Vault key.")]
    private static partial void LogLocalKey(ILogger logger, string path);
}
