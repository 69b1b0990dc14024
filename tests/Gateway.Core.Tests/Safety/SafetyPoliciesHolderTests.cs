using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Safety;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>Replacing the safety policies at runtime: validated first with every problem listed, then installed on every instance.</summary>
public sealed class SafetyPoliciesHolderTests
{
    private const string Document = """
        {
          "policy": {"name": "corp", "extends": "baseline", "rules": {"secret.aws": {"action": "block", "locked": true}}},
          "teams": {"payments": "pii-redact"},
          "keys": {"key_abc": {"name": "abc", "rules": {"email": "flag"}, "models": ["gpt-4o"]}}
        }
        """;

    [Fact]
    public void A_document_replaces_every_level_at_once()
    {
        var holder = new SafetyPoliciesHolder(new SafetyOptions { Policy = "log-only" });
        Assert.Equal("configuration", holder.Source);
        holder.Install(Document);
        Assert.Equal("admin", holder.Source);
        Assert.Equal("corp", holder.Current.Global!.Name);
        Assert.Equal(SafetyAction.Redact, holder.Current.For("payments", "key_x", "mock-1")!.Actions["email"]);
        // the key's policy is limited to gpt-4o; the locked rule stays at block under it
        Assert.Equal(SafetyAction.Flag, holder.Current.For(null, "key_abc", "gpt-4o")!.Actions["email"]);
        Assert.Equal(SafetyAction.Block, holder.Current.For(null, "key_abc", "gpt-4o")!.Actions["secret.aws"]);
        Assert.Equal("corp", holder.Current.For(null, "key_abc", "mock-1")!.Name);
    }

    [Fact]
    public void An_invalid_document_lists_every_problem_and_changes_nothing()
    {
        var holder = new SafetyPoliciesHolder(new SafetyOptions { Policy = "baseline" });
        var ex = Assert.Throws<DocumentRejectedException>(() => holder.Install("""
            {
              "policy": {"name": "corp", "extends": "baseline", "rules": {"secret.aws": {"action": "block", "locked": true}}},
              "teams": {"lab": "log-only", "ops": "paranoid", "bad": 7},
              "keys": {"key_1": {"name": "k", "rules": {"emial": "block"}}},
              "colour": "blue"
            }
            """));
        Assert.Contains(ex.Errors, e => e.StartsWith("teams.ops: 'paranoid' is not a known policy", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("teams.bad: a template name or a policy document", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("colour: unknown field", StringComparison.Ordinal));
        Assert.Equal("baseline", holder.Current.Global!.Name);
        Assert.Null(holder.CurrentJson);

        // once the shape is right, what composing finds: a locked rule loosened, a document's own problems
        var composed = Assert.Throws<DocumentRejectedException>(() => holder.Install("""
            {
              "policy": {"name": "corp", "extends": "baseline", "rules": {"secret.aws": {"action": "block", "locked": true}}},
              "teams": {"lab": "log-only"},
              "keys": {"key_1": {"name": "k", "rules": {"emial": "block"}}}
            }
            """));
        Assert.Contains(composed.Errors, e => e.StartsWith("teams.lab: 'secret.aws' is locked at block by 'corp'", StringComparison.Ordinal));
        Assert.Contains(composed.Errors, e => e.StartsWith("keys.key_1: $.rules.emial", StringComparison.Ordinal));
        Assert.Throws<DocumentRejectedException>(() => holder.Install("[1]"));
        Assert.Throws<DocumentRejectedException>(() => holder.Install("{nope"));
        // a policy using Content Safety needs the resource configured
        var cs = Assert.Throws<DocumentRejectedException>(() => holder.Install("""{"policy": {"name": "x", "contentSafety": {"blockAt": {"Hate": 2}}}}"""));
        Assert.Contains(cs.Errors, e => e.StartsWith("Gateway:Safety:ContentSafety:Endpoint", StringComparison.Ordinal));
        Assert.Equal("baseline", holder.Current.Global!.Name);
    }

    [Fact]
    public async Task Every_instance_installs_a_replacement_and_the_admin_api_answers_400_with_the_problems()
    {
        var store = new MemoryDocumentStore();
        var holderA = new SafetyPoliciesHolder(new SafetyOptions { Policy = "baseline" });
        var holderB = new SafetyPoliciesHolder(new SafetyOptions { Policy = "baseline" });
        var adminA = new SafetyAdministration(holderA, new DocumentSync(holderA, store));
        var instanceB = new DocumentSync(holderB, store);

        var installed = await adminA.ReplaceAsync(System.Text.Encoding.UTF8.GetBytes(Document), default);
        Assert.Equal(true, (bool?)installed["installed"]);
        Assert.Equal("corp", (string?)installed["policy"]);
        Assert.Equal("admin", (string?)installed["source"]);
        Assert.NotNull(installed["teams"]?["payments"]);
        Assert.Equal(DocumentRefreshOutcome.Installed, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal("corp", holderB.Current.Global!.Name);

        var bad = await Assert.ThrowsAsync<GatewayException>(() => adminA.ReplaceAsync("""{"policy":"paranoid","teams":[]}"""u8.ToArray(), default));
        Assert.Equal((400, "invalid_policy", "policy"), (bad.Error.Status, bad.Error.Code, bad.Error.Param));
        Assert.Contains("policy: 'paranoid' is not a known policy", bad.Error.Message, StringComparison.Ordinal);
        Assert.Contains("teams: must be an object", bad.Error.Message, StringComparison.Ordinal);
        Assert.Equal(1, store.Saves);
        Assert.Equal(400, (await Assert.ThrowsAsync<GatewayException>(() => adminA.ReplaceAsync([0xff, 0xfe], default))).Error.Status);

        // a broken document put in the blob directly is refused by every instance, which keeps its policies
        store.Stored = new StoredDocument("""{"policy": "nope"}""", "etag-direct");
        Assert.Equal(DocumentRefreshOutcome.Rejected, (await instanceB.RefreshAsync(default)).Outcome);
        Assert.Equal("corp", holderB.Current.Global!.Name);
    }
}
