using System.Globalization;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Audit;

namespace Gateway.Benchmarks;

/// <summary>Verifying the audit log: 100,000 entries sealed every 1,000 (100 checkpoints, each signature checked).</summary>
[MemoryDiagnoser]
public class AuditVerifyBenchmarks
{
    private const int Entries = 100_000;
    private const int Spacing = 1_000;
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T09:00:00Z", CultureInfo.InvariantCulture);
    private readonly List<string> _entries = [];
    private readonly List<string> _checkpoints = [];
    private AuditVerifier _verifier = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var path = Path.Combine(Path.GetTempPath(), $"audit-bench-{Guid.NewGuid():N}.pem");
        using var signer = EcdsaFileSigner.LoadOrCreate(path);
        File.Delete(path);
        Checkpoint? previous = null;
        for (var i = 0; i < Entries; i++)
        {
            _entries.Add(AuditEntryCodec.Serialize(new AuditEntry(i, new AuditEvent
            {
                Id = $"evt-{i:D6}",
                At = T0.AddSeconds(i),
                Type = AuditEventTypes.SafetyDecision,
                Actor = "gateway",
                Scope = "team:finance",
                Target = $"req-{i:x8}",
                Subject = "u_0123456789abcdef",
                Details = new Dictionary<string, string> { ["detector"] = "pii.email", ["action"] = "redact", ["count"] = "2" },
            })));
            if ((i + 1) % Spacing == 0)
            {
                previous = await CheckpointSealer.SealAsync(previous, _entries.Skip(i + 1 - Spacing), T0.AddSeconds(i), signer);
                _checkpoints.Add(previous.Serialize());
            }
        }

        _verifier = new AuditVerifier(CheckpointVerifier.FromPem(signer.PublicKeyPem));
        if (!Verify().Ok) throw new CryptographicException("the benchmark's log does not verify");
    }

    [Benchmark(Description = "verify 100,000 entries, 100 checkpoints")]
    public VerificationReport Verify() => _verifier.Verify(_checkpoints, _entries);
}
