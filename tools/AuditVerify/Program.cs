using System.Security.Cryptography;
using Gateway.Core.Audit;

namespace Gateway.Tools.AuditVerify;

/// <summary>
/// Verifies an audit export offline: every checkpoint's signature and chain, and every entry against the checkpoints'
/// roots. Needs the public key only, so an auditor can run it without any access to the gateway.
/// </summary>
public static class Program
{
    public const string Usage = """
        Usage: AuditVerify --public-key <key.pub.pem> <export.jsonl | ->

        Verifies an exported audit log offline with the checkpoint signing key's public key
        (SubjectPublicKeyInfo, PEM or DER; ECDSA P-256). "-" reads the export from standard input.

        The export is JSON Lines, in log order:
          {"format":"gateway-audit-export/v1"}                          first line
          {"entry":"<the entry's stored text, as a JSON string>"}       one per entry
          {"checkpoint":{"format":"gateway-audit-checkpoint/v1",...}}   one per checkpoint, before the entry of its size
        An export may start after the first entries (retention), at a checkpoint's size; it holds every checkpoint.

        Prints OK with counts, or the first inconsistency (its kind: gap, duplicate, out_of_order, unparseable,
        root_mismatch, checkpoint_chain, signature, frontier, truncated). Entries after the last checkpoint are
        counted as unsealed, not as errors.

        Exit code: 0 verified, 1 an inconsistency, 2 a usage error (arguments, unreadable key or file).
        """;

    public static int Main(string[] args) => Run(args, Console.Out);

    public static int Run(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        if (args.Any(a => a is "--help" or "-h"))
        {
            output.WriteLine(Usage);
            return 0;
        }

        string? keyPath = null, exportPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--public-key" && i + 1 < args.Length && keyPath is null) keyPath = args[++i];
            else if ((args[i] == "-" || !args[i].StartsWith('-')) && exportPath is null) exportPath = args[i];
            else return UsageError(output, $"unexpected argument: {args[i]}");
        }

        if (keyPath is null || exportPath is null) return UsageError(output, keyPath is null ? "--public-key is required" : "the export file is required");

        CheckpointVerifier keys;
        try
        {
            keys = CheckpointVerifier.FromPublicKey(File.ReadAllBytes(keyPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return UsageError(output, $"cannot read the public key {keyPath}: {e.Message}");
        }

        using (keys)
        {
            AuditExportContent export;
            try
            {
                if (exportPath == "-") export = AuditExport.Read(Console.In);
                else
                {
                    using var reader = File.OpenText(exportPath);
                    export = AuditExport.Read(reader);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return UsageError(output, $"cannot read {exportPath}: {e.Message}");
            }
            catch (FormatException e)
            {
                output.WriteLine($"FAILED unparseable: {e.Message}");
                return 1;
            }

            var report = new AuditVerifier(keys).Verify(export.Checkpoints, export.Entries);
            if (report.First is { } first)
            {
                var where = first.CheckpointSize is { } size ? $" (checkpoint at size {size})" : first.Sequence is { } sequence ? $" (entry {sequence})" : "";
                output.WriteLine($"FAILED {first.Kind}{where}: {first.Message}");
                output.WriteLine($"checked before it: {report.EntriesChecked} entries, {report.CheckpointsChecked} checkpoints");
                return 1;
            }

            output.WriteLine($"OK: {report.EntriesChecked} entries, {report.CheckpointsChecked} checkpoints, verified through size {report.VerifiedSize}, {report.EntriesUnsealed} unsealed");
            return 0;
        }
    }

    private static int UsageError(TextWriter output, string message)
    {
        output.WriteLine(message);
        output.WriteLine();
        output.WriteLine(Usage);
        return 2;
    }
}
