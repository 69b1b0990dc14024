using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.Core.Audit;

namespace Gateway.Core.Tests.Audit;

/// <summary>A signer over an in-memory key, for tests that need a second key or no key file.</summary>
internal sealed class TestSigner(ECDsa key) : ICheckpointSigner
{
    public string KeyId { get; } = CheckpointVerifier.KeyIdOf(key.ExportSubjectPublicKeyInfo());

    public string PublicKeyPem => key.ExportSubjectPublicKeyInfoPem();

    public ValueTask<byte[]> SignAsync(byte[] payload, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
}

/// <summary>Audit logs as stored (entry texts, checkpoint texts), built and sealed with the test keys.</summary>
internal static class AuditTestLog
{
    public static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T09:00:00Z", CultureInfo.InvariantCulture);

    /// <summary>The log's signing key.</summary>
    public static readonly TestSigner Key = new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Another key: what a forger would sign with.</summary>
    public static readonly TestSigner OtherKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public static AuditVerifier Verifier() => new(CheckpointVerifier.FromPem(Key.PublicKeyPem));

    /// <summary>An event that differs with <paramref name="i"/>, using every field now and then.</summary>
    public static AuditEvent Event(int i, string actor = "admin") => new()
    {
        Id = $"evt-{i:D5}",
        At = T0.AddSeconds(i),
        Type = (i % 3) switch { 0 => AuditEventTypes.KeyCreated, 1 => AuditEventTypes.SafetyDecision, _ => AuditEventTypes.BudgetSet },
        Actor = actor,
        Scope = i % 2 == 0 ? "team:finance" : null,
        Target = i % 4 == 0 ? $"key-{i}" : null,
        Subject = i % 5 == 0 ? "u_0123456789abcdef" : null,
        Before = i % 7 == 0 ? JsonNode.Parse($$"""{"limitUsd":{{i}},"name":"é \"quoted\""}""") : null,
        After = i % 7 == 0 ? JsonNode.Parse($$"""{"limitUsd":{{i + 1}},"tags":["a","b"]}""") : null,
        Details = i % 3 == 1 ? new Dictionary<string, string> { ["detector"] = "pii.email", ["action"] = "redact", ["Count"] = $"{i}" } : null,
    };

    public static string Entry(long sequence, int eventNumber, string actor = "admin") => AuditEntryCodec.Serialize(new AuditEntry(sequence, Event(eventNumber, actor)));

    /// <summary><paramref name="count"/> entries, sealed at each size in <paramref name="sealAt"/> (ascending).</summary>
    public static (List<string> Entries, List<string> Checkpoints) Build(int count, IEnumerable<int> sealAt, ICheckpointSigner? signer = null)
    {
        var entries = Enumerable.Range(0, count).Select(i => Entry(i, i)).ToList();
        return (entries, Seal(entries, sealAt, signer ?? Key).Select(c => c.Serialize()).ToList());
    }

    /// <summary>Checkpoints over <paramref name="entries"/> at each size in <paramref name="sealAt"/>, each chained to the one before.</summary>
    public static List<Checkpoint> Seal(IReadOnlyList<string> entries, IEnumerable<int> sealAt, ICheckpointSigner signer, Checkpoint? previous = null)
    {
        var checkpoints = new List<Checkpoint>();
        var from = (int)(previous?.TreeSize ?? 0);
        foreach (var size in sealAt)
        {
            previous = SealNext(previous, entries.Skip(from).Take(size - from), T0.AddMinutes(size), signer);
            checkpoints.Add(previous);
            from = size;
        }

        return checkpoints;
    }

    public static Checkpoint SealNext(Checkpoint? previous, IEnumerable<string> entries, DateTimeOffset at, ICheckpointSigner signer) =>
        CheckpointSealer.SealAsync(previous, entries, at, signer).AsTask().GetAwaiter().GetResult();

    /// <summary>The same checkpoint, signed with <paramref name="signer"/>.</summary>
    public static Checkpoint Resign(Checkpoint c, ICheckpointSigner signer)
    {
        var unsigned = new Checkpoint(c.TreeSize, c.Root, c.At, c.PreviousHash, c.Frontier, signer.KeyId, []);
        var signature = signer.SignAsync(unsigned.SignedPayload()).AsTask().GetAwaiter().GetResult();
        return new Checkpoint(c.TreeSize, c.Root, c.At, c.PreviousHash, c.Frontier, signer.KeyId, signature);
    }
}
