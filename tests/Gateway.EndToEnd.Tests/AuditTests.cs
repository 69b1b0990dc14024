using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.EndToEnd.Tests;

/// <summary>The audit log on the real host: admin changes through the queue trigger into the log, the sealing timer, verify, proofs, export for the offline verifier.</summary>
[Collection(HostCollection.Name)]
public sealed class AuditTests(HostFixture fixture)
{
    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [HostFact]
    public async Task An_admin_change_is_in_the_log_with_its_actor_sealed_verified_provable_and_checked_offline()
    {
        var name = "audit-" + Guid.NewGuid().ToString("N")[..8];
        var created = await fixture.SendAsync(HttpMethod.Post, "gateway/keys", HostFixture.AdminKey, $$"""{"name":"{{name}}","team":"audited"}""",
            new Dictionary<string, string> { ["x-gateway-actor"] = "alice@example.org" });
        Assert.Equal(201, created.Status);
        var keyId = (string)created.Json!["id"]!;
        var plain = (string)created.Json!["key"]!;

        var from = Iso(DateTimeOffset.UtcNow.AddHours(-1));
        var to = Iso(DateTimeOffset.UtcNow.AddHours(1));
        var events = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/events?from={from}&to={to}&type=admin.key.created"),
            r => r.Status == 200 && r.Text.Contains(keyId, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the key's creation reaching the audit log");
        var entry = events.Json!.AsArray().Single(e => (string?)e!["target"] == "key:" + keyId)!;
        Assert.Equal("admin:alice@example.org", (string?)entry["actor"]);
        Assert.Equal(name, (string?)entry["after"]!["name"]);
        // the plain key is in the creation's answer once, and never in the log
        Assert.DoesNotContain(plain, events.Text, StringComparison.Ordinal);
        var sequence = (long)entry["sequence"]!;

        // the sealing timer (every few seconds here) seals it; then it is provable against a signed checkpoint
        var proof = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/proof?sequence={sequence}"),
            r => r.Status == 200, TimeSpan.FromSeconds(30), "a checkpoint sealing the entry");
        var path = proof.Json!["audit_path"]!.AsArray().Select(h => Convert.FromHexString((string)h!)).ToList();
        var checkpoint = proof.Json!["checkpoint"]!;
        Assert.True(Gateway.Core.Audit.MerkleTree.VerifyInclusion(sequence, (long)checkpoint["treeSize"]!, Convert.FromHexString((string)proof.Json!["leaf_hash"]!),
            path, Convert.FromHexString((string)checkpoint["root"]!)));

        var verify = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/verify");
        Assert.Equal(200, verify.Status);
        Assert.True((bool)verify.Json!["ok"]!, verify.Text);
        Assert.True((long)verify.Json!["verified_size"]! > sequence);

        // the export and the public key are all the offline verifier needs
        var publicKey = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/public-key");
        var export = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/export");
        Assert.Equal(200, export.Status);
        var dir = Directory.CreateTempSubdirectory("audit-e2e").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), publicKey.Text);
        await File.WriteAllTextAsync(Path.Combine(dir, "export.jsonl"), export.Text);
        var output = new StringWriter();
        var exit = Gateway.Tools.AuditVerify.Program.Run(["--public-key", Path.Combine(dir, "key.pem"), Path.Combine(dir, "export.jsonl")], output);
        Assert.True(exit == 0, output.ToString());

        // the checkpoints, a consistency proof between the first and the latest, and the compliance report
        var checkpoints = (await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/checkpoints")).Json!["data"]!.AsArray();
        Assert.NotEmpty(checkpoints);
        var (first, latest) = ((long)checkpoints[0]!["treeSize"]!, (long)checkpoints[^1]!["treeSize"]!);
        var consistency = await fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/consistency?first={first}&second={latest}");
        Assert.Equal(200, consistency.Status);
        Assert.True(Gateway.Core.Audit.MerkleTree.VerifyConsistency(first, latest, Convert.FromHexString((string)checkpoints[0]!["root"]!),
            Convert.FromHexString((string)checkpoints[^1]!["root"]!), [.. consistency.Json!["proof"]!.AsArray().Select(h => Convert.FromHexString((string)h!))]));
        var report = await fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/report?from={from}&to={to}");
        Assert.Equal(200, report.Status);
        Assert.True((long)report.Json!["admin_changes"]!["by_type"]!["admin.key.created"]! >= 1);
        Assert.True((bool)report.Json!["verification"]!["ok"]!);

        // bad input is a 400 naming the parameter
        var bad = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/verify?from=ten");
        Assert.Equal((400, "from"), (bad.Status, (string?)bad.Json!["error"]!["param"]));
        var badRange = await fixture.AdminAsync(HttpMethod.Get, $"gateway/audit/events?from={to}&to={from}");
        Assert.Equal((400, "to"), (badRange.Status, (string?)badRange.Json!["error"]!["param"]));
        var badProof = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/proof?sequence=-1");
        Assert.Equal((400, "sequence"), (badProof.Status, (string?)badProof.Json!["error"]!["param"]));
        var unsealed = await fixture.AdminAsync(HttpMethod.Get, "gateway/audit/proof?sequence=99999999");
        Assert.Equal(404, unsealed.Status);
    }
}
