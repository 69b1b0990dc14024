using Gateway.Core.Safety;

namespace Gateway.Core.Tests.Safety;

/// <summary>Policy documents: templates extended, rules changed, custom keyword and pattern detectors, every problem listed.</summary>
public sealed class SafetyPolicyDocumentTests
{
    [Fact]
    public void A_document_extends_a_template_changes_rules_and_adds_custom_detectors()
    {
        var policy = SafetyPolicy.FromSetting("""
            { "name": "acme", "extends": "baseline",
              "rules": { "email": "redact", "injection": "block", "codenames": "flag" },
              "custom": [ { "name": "codenames", "keywords": ["Bluebird", "kestrel"], "action": "block" },
                          { "name": "employee-id", "regex": "EMP-[0-9]{6}", "action": "redact" } ] }
            """, out var problems);
        Assert.Empty(problems);
        Assert.NotNull(policy);
        Assert.Equal("acme", policy.Name);
        Assert.Equal(SafetyAction.Redact, policy.Actions["email"]);
        Assert.Equal(SafetyAction.Block, policy.Actions["secret.aws"]); // from baseline
        Assert.Equal(SafetyAction.Flag, policy.Actions["codenames"]); // rules apply after the custom rule's own action

        const string text = "Project BLUEBIRD: ask EMP-123456 at a@example.com; bluebirds are birds.";
        var scan = SafetyScanner.Scan(text, policy);
        Assert.Equal(["codenames", "employee-id", "email"], scan.Findings.Select(f => f.Detector).ToArray());
        var redacted = SafetyScanner.Redact(text, scan, policy, new Dictionary<string, string>(StringComparer.Ordinal));
        Assert.Equal("Project BLUEBIRD: ask <EMPLOYEE_ID_1> at <EMAIL_1>; bluebirds are birds.", redacted);
    }

    [Fact]
    public void Every_problem_is_listed_at_once_with_its_path()
    {
        var policy = SafetyPolicy.FromSetting("""
            { "extends": "paranoid", "colour": "red",
              "rules": { "emial": "block", "card": "shred" },
              "custom": [ { "name": "email", "keywords": ["x"], "action": "block" },
                          { "name": "dup", "regex": "(a)\\1", "action": "flag" },
                          { "name": "empty", "regex": "a*", "action": "flag" },
                          { "name": "both", "regex": "x", "keywords": ["x"], "action": "flag" },
                          { "name": "no action", "keywords": [] } ] }
            """, out var problems);
        Assert.Null(policy);
        string[] expected =
        [
            "$.colour", "$.name", "$.extends", "$.rules.emial", "$.rules.card", "$.custom[0].name", "$.custom[1].regex", "$.custom[2].regex",
            "$.custom[3]:", "$.custom[4].name", "$.custom[4].action", "$.custom[4].keywords",
        ];
        foreach (var path in expected) Assert.Contains(problems, p => p.StartsWith(path, StringComparison.Ordinal));
        Assert.Equal(expected.Length, problems.Count);
    }

    [Theory]
    [InlineData("{not json", "$: not valid JSON")]
    [InlineData("paranoid", "'paranoid' is not a known policy")]
    public void Settings_that_are_neither_a_template_nor_a_document_say_why(string setting, string problem)
    {
        Assert.Null(SafetyPolicy.FromSetting(setting, out var problems));
        Assert.StartsWith(problem, Assert.Single(problems), StringComparison.Ordinal);
    }
}
