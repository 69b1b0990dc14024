using Gateway.Core.Audit;
using Gateway.Tools.AuditVerify;
using static Gateway.Core.Tests.Audit.AuditTestLog;

namespace Gateway.Core.Tests.Audit;

/// <summary>The export file, read back, and the offline verifier run on it in-process.</summary>
public sealed class AuditExportTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("audit-export-");

    public void Dispose() => _directory.Delete(true);

    private static string Export(IEnumerable<string> entries, IReadOnlyList<string> checkpoints)
    {
        using var writer = new StringWriter();
        AuditExport.Write(writer, entries, checkpoints);
        return writer.ToString();
    }

    private (int Code, string Output) RunCli(string export, string? publicKeyPem = null, params string[] extra)
    {
        var exportPath = Path.Combine(_directory.FullName, "export.jsonl");
        var keyPath = Path.Combine(_directory.FullName, "key.pub.pem");
        File.WriteAllText(exportPath, export);
        File.WriteAllText(keyPath, publicKeyPem ?? Key.PublicKeyPem);
        using var output = new StringWriter();
        var code = Program.Run(["--public-key", keyPath, exportPath, .. extra], output);
        return (code, output.ToString());
    }

    [Fact]
    public void An_export_is_json_lines_in_log_order_and_reads_back_as_stored()
    {
        var (entries, checkpoints) = Build(25, [10, 20]);
        var lines = Export(entries, checkpoints).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"format":"gateway-audit-export/v1"}""", lines[0]);
        Assert.Equal(1 + 25 + 2, lines.Length);
        Assert.StartsWith("""{"checkpoint":{"format":"gateway-audit-checkpoint/v1","treeSize":10,""", lines[11], StringComparison.Ordinal);
        Assert.StartsWith("""{"checkpoint":{"format":"gateway-audit-checkpoint/v1","treeSize":20,""", lines[22], StringComparison.Ordinal);
        var back = AuditExport.Read(new StringReader(string.Join('\n', lines)));
        Assert.Equal(entries, back.Entries);
        Assert.Equal(checkpoints, back.Checkpoints);
    }

    [Fact]
    public void An_export_after_retention_starts_with_the_checkpoints_before_its_entries()
    {
        var (entries, checkpoints) = Build(25, [10, 20]);
        var lines = Export(entries[20..], checkpoints).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("""{"checkpoint":""", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("""{"checkpoint":""", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("""{"entry":""", lines[3], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"entry\":\"x\"}")]
    [InlineData("{\"format\":\"gateway-audit-export/v1\"}\n{\"entry\":{}}")]
    [InlineData("{\"format\":\"gateway-audit-export/v1\"}\n{\"entry\":\"x\",\"checkpoint\":{}}")]
    [InlineData("{\"format\":\"gateway-audit-export/v1\"}\nnot json")]
    public void A_file_that_is_not_an_export_is_refused(string text) =>
        Assert.Throws<FormatException>(() => AuditExport.Read(new StringReader(text)));

    [Fact]
    public void The_offline_verifier_says_ok_with_counts()
    {
        var (entries, checkpoints) = Build(1234, [500, 1000]);
        var (code, output) = RunCli(Export(entries, checkpoints));
        Assert.Equal(0, code);
        Assert.Equal("OK: 1234 entries, 2 checkpoints, verified through size 1000, 234 unsealed", output.Trim());
    }

    [Fact]
    public void The_offline_verifier_names_the_first_inconsistency_of_a_tampered_export()
    {
        var (entries, checkpoints) = Build(1234, [500, 1000]);
        entries[700] = Entry(700, 700, actor: "admin:mallory");
        var (code, output) = RunCli(Export(entries, checkpoints));
        Assert.Equal(1, code);
        Assert.StartsWith("FAILED root_mismatch (checkpoint at size 1000): entries 0 to 999 do not hash", output, StringComparison.Ordinal);
        // an entry edited inside the export file itself
        var export = Export(Build(30, [10]).Entries, Build(30, [10]).Checkpoints).Replace("evt-00003", "evt-00333", StringComparison.Ordinal);
        Assert.Equal(1, RunCli(export).Code);
        // a damaged line
        Assert.StartsWith("FAILED unparseable: line 2", RunCli("{\"format\":\"gateway-audit-export/v1\"}\n{\"entry\":").Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_offline_verifier_refuses_an_export_checked_with_another_key()
    {
        var (entries, checkpoints) = Build(20, [10]);
        var (code, output) = RunCli(Export(entries, checkpoints), OtherKey.PublicKeyPem);
        Assert.Equal(1, code);
        Assert.StartsWith("FAILED signature (checkpoint at size 10)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_errors_exit_with_2()
    {
        using var output = new StringWriter();
        Assert.Equal(2, Program.Run([], output));
        Assert.Equal(2, Program.Run(["export.jsonl"], output));
        Assert.Equal(2, Program.Run(["--public-key", "/nonexistent/key.pem", "export.jsonl"], output));
        Assert.Equal(2, RunCli("", Key.PublicKeyPem, "--unknown").Code);
        Assert.Equal(2, RunCli("", "not a key").Code);
        Assert.Contains("Usage: AuditVerify", output.ToString(), StringComparison.Ordinal);
        using var help = new StringWriter();
        Assert.Equal(0, Program.Run(["--help"], help));
        Assert.Contains("{\"entry\":", help.ToString(), StringComparison.Ordinal);
    }
}
