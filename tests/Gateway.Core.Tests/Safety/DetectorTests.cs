using Gateway.Core.Safety;

namespace Gateway.Core.Tests.Safety;

/// <summary>The checks behind the detectors, on published examples, and how overlapping findings and placeholders behave.</summary>
public sealed class DetectorTests
{
    [Theory]
    [InlineData("4111 1111 1111 1111", true)]
    [InlineData("4111-1111-1111-1112", false)] // Luhn fails
    [InlineData("378282246310005", true)] // Amex test number
    [InlineData("6011111111111117", true)]
    [InlineData("1234567812345670", false)] // Luhn holds, no issuer starts with 1
    public void Cards_need_an_issuer_and_a_luhn_check_digit(string candidate, bool expected) => Assert.Equal(expected, Detectors.IsCard(candidate));

    [Theory]
    [InlineData("GB82 WEST 1234 5698 7654 32", true)]
    [InlineData("DE89370400440532013000", true)]
    [InlineData("DE89370400440532013001", false)] // mod-97 fails
    [InlineData("GB82WEST123456987654", false)] // wrong length for GB
    [InlineData("XX82WEST12345698765432", false)] // no such country
    public void Ibans_need_their_country_length_and_mod_97(string candidate, bool expected) => Assert.Equal(expected, Detectors.IsIban(candidate));

    [Fact]
    public void A_key_inside_a_generic_assignment_is_reported_once_as_what_it_is()
    {
        var scan = SafetyScanner.Scan("api_key=AKIAIOSFODNN7EXAMPLE and more", SafetyPolicy.Templates["strict"]);
        var finding = Assert.Single(scan.Findings);
        Assert.Equal("secret.aws", finding.Detector);
        Assert.Equal(SafetyAction.Block, scan.Action);
    }

    [Fact]
    public void The_same_value_gets_the_same_placeholder_and_kinds_are_numbered_apart()
    {
        var policy = SafetyPolicy.Templates["pii-redact"];
        var placeholders = new Dictionary<string, string>(StringComparer.Ordinal);
        const string text = "a@example.com, b@example.com, 10.0.0.1, a@example.com";
        var redacted = SafetyScanner.Redact(text, SafetyScanner.Scan(text, policy), policy, placeholders);
        Assert.Equal("<EMAIL_1>, <EMAIL_2>, <IPV4_1>, <EMAIL_1>", redacted);
    }

    [Fact]
    public void Anchored_detectors_find_every_match_whether_anchors_are_close_together_or_far_apart()
    {
        var text = new System.Text.StringBuilder();
        var expected = 0;
        for (var i = 0; i < 300; i++)
        {
            // runs of adjacent addresses (merged windows), then long gaps of prose (separate windows)
            text.Append(i % 10 < 5 ? $"u{i}@example.com, " : new string('x', 20 + (i * 37 % 500)) + $" then v{i}.name@mail.example.org ");
            expected++;
        }

        var scan = SafetyScanner.Scan(text.ToString(), new SafetyPolicy("email", new Dictionary<string, SafetyAction> { ["email"] = SafetyAction.Flag }));
        Assert.Equal(expected, scan.Findings.Count);
        Assert.All(scan.Findings, f => Assert.Contains('@', text.ToString(f.Start, f.Length)));
    }

    [Theory]
    [InlineData("Upgrade to version 10.2.3.4 now")]
    [InlineData("built with v1.2.3.4")]
    [InlineData("at 12:30:45 precisely")]
    [InlineData("MAC 00:1A:2B:3C:4D:5E")]
    [InlineData("SSN 666-12-3456 is never issued")]
    [InlineData("password=CorrectHorseBatteryStaple")]
    [InlineData("token: ${GITHUB_TOKEN}")]
    public void Look_alikes_are_not_findings(string text) => Assert.Empty(SafetyScanner.Scan(text, SafetyPolicy.Templates["strict"]).Findings);
}

/// <summary>A detector whose pattern runs out of time: tried again, then the text counts as found (fail closed).</summary>
public sealed class DetectorTimeoutTests
{
    /// <summary>Times out on its first <paramref name="timeouts"/> calls (after adding a finding, which must not survive).</summary>
    private sealed class SlowDetector(int timeouts) : IDetector
    {
        public int Calls { get; private set; }

        public string Name => "custom.slow";

        public void Find(string text, List<Finding> findings)
        {
            Calls++;
            findings.Add(new Finding(Name, 0, 1));
            if (Calls <= timeouts) throw new System.Text.RegularExpressions.RegexMatchTimeoutException(text, "x", TimeSpan.FromMilliseconds(250));
        }
    }

    private static SafetyPolicy Policy(IDetector detector, SafetyAction action) =>
        new("timeouts", new Dictionary<string, SafetyAction>(StringComparer.Ordinal) { [detector.Name] = action, ["email"] = SafetyAction.Flag })
        {
            Custom = new Dictionary<string, IDetector>(StringComparer.Ordinal) { [detector.Name] = detector },
        };

    [Fact]
    public void A_time_out_once_is_tried_again_and_only_the_second_attempt_s_findings_count()
    {
        var slow = new SlowDetector(timeouts: 1);
        var scan = SafetyScanner.Scan("write to me at ada@example.com", Policy(slow, SafetyAction.Block));
        Assert.Equal(2, slow.Calls);
        Assert.Equal([("custom.slow", 0, 1), ("email", 15, 15)], scan.Findings.Select(f => (f.Detector, f.Start, f.Length)));
    }

    [Theory]
    [InlineData(SafetyAction.Block)]
    [InlineData(SafetyAction.Redact)]
    public void Two_time_outs_fail_closed_with_the_whole_text_found_by_that_detector(SafetyAction action)
    {
        const string text = "write to me at ada@example.com";
        var slow = new SlowDetector(timeouts: 2);
        var scan = SafetyScanner.Scan(text, Policy(slow, action));
        Assert.Equal(2, slow.Calls);
        // the whole-text finding covers the email, which overlaps it and is dropped
        var finding = Assert.Single(scan.Findings);
        Assert.Equal(("custom.slow", 0, text.Length), (finding.Detector, finding.Start, finding.Length));
        Assert.Equal(action, scan.Action);
    }
}
