using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Safety;
using Gateway.Testing;

namespace Gateway.Core.Tests.Safety;

/// <summary>The in-stream check: whatever the chunking, the client gets the text the non-streamed check would give.</summary>
public sealed class SafeStreamTests
{

    private static async Task<(string Text, string? Finish, int Findings)> Relay(string text, SafetyPolicy policy, Random random)
    {
        var pieces = new List<string>();
        for (var at = 0; at < text.Length;)
        {
            var n = Math.Min(text.Length - at, random.Next(1, 12));
            pieces.Add(text.Substring(at, n));
            at += n;
        }

        var findings = 0;
        await using var stream = new SafeStream(FakeChatStream.Text(pieces), policy, scan => findings += scan.Findings.Count, new Dictionary<string, string>(StringComparer.Ordinal));
        var output = new StringBuilder();
        string? finish = null;
        while (await stream.ReadAsync(default) is { } chunk)
        {
            foreach (var choice in chunk["choices"]!.AsArray())
            {
                output.Append((string?)choice!["delta"]?["content"]);
                finish = (string?)choice["finish_reason"] ?? finish;
            }
        }

        return (output.ToString(), finish, findings);
    }

    private const string Prose = "Thanks for the update on the quarterly review; the payments team will follow up next week with the numbers. ";

    [Fact]
    public async Task Redaction_in_a_stream_equals_redaction_of_the_whole_text_whatever_the_chunking()
    {
        var policy = SafetyPolicy.Templates["pii-redact"];
        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var text = Prose[..random.Next(0, Prose.Length)] + "write to jane.doe@example.org or call +1 415 555 2671, card 4111 1111 1111 1111. " + Prose + "Bye jane.doe@example.org.";
            var expected = SafetyScanner.Redact(text, SafetyScanner.Scan(text, policy), policy, new Dictionary<string, string>(StringComparer.Ordinal));
            var (relayed, finish, findings) = await Relay(text, policy, random);
            Assert.Equal(expected, relayed);
            Assert.Equal("stop", finish);
            Assert.Equal(4, findings);
            Assert.DoesNotContain("jane.doe", relayed, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_long_stream_is_redacted_as_its_whole_text_is_while_the_window_drops_what_it_no_longer_reads()
    {
        // ~60,000 characters, findings every ~1,500: the window's text is trimmed many times (every 4,096 characters
        // released), with findings straddling the cuts at varying offsets
        var policy = SafetyPolicy.Templates["pii-redact"];
        var random = new Random(21);
        var text = new StringBuilder();
        var planted = 0;
        while (text.Length < 60_000)
        {
            text.Append(Prose.AsSpan(0, random.Next(1, Prose.Length)));
            text.Append(Prose);
            text.Append(Prose[..random.Next(0, Prose.Length)]);
            text.Append(random.Next(3) switch { 0 => "mail jane.doe@example.org ", 1 => "call +1 415 555 2671 ", _ => "card 4111 1111 1111 1111 " });
            planted++;
        }

        var whole = text.ToString();
        var expected = SafetyScanner.Redact(whole, SafetyScanner.Scan(whole, policy), policy, new Dictionary<string, string>(StringComparer.Ordinal));
        var (relayed, finish, findings) = await Relay(whole, policy, random);
        Assert.Equal(expected, relayed);
        Assert.Equal("stop", finish);
        Assert.Equal(planted, findings);
        Assert.DoesNotContain("jane.doe", relayed, StringComparison.Ordinal);

        // a secret after all that is still blocked before any of it is sent
        var secret = whole + " here: ghp_abcdefghijklmnopqrstuvwxyz0123456789 and more " + Prose;
        var (cut, blocked, _) = await Relay(secret, SafetyPolicy.Templates["baseline"], random);
        Assert.Equal("content_filter", blocked);
        Assert.DoesNotContain("ghp_", cut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blocked_secret_ends_the_stream_with_content_filter_before_any_of_it_is_sent()
    {
        var policy = SafetyPolicy.Templates["baseline"];
        var random = new Random(9);
        for (var round = 0; round < 200; round++)
        {
            var text = Prose[..random.Next(0, Prose.Length)] + "here: ghp_abcdefghijklmnopqrstuvwxyz0123456789 and more " + Prose;
            var (relayed, finish, _) = await Relay(text, policy, random);
            Assert.Equal("content_filter", finish);
            Assert.DoesNotContain("ghp_", relayed, StringComparison.Ordinal);
            Assert.True(text.StartsWith(relayed, StringComparison.Ordinal), "what was sent is a prefix of the answer");
        }
    }

    [Theory]
    [InlineData("jwt")]
    [InlineData("pem")]
    [InlineData("anthropic")]
    public async Task A_secret_longer_than_the_holdback_is_blocked_before_any_of_it_is_sent(string kind)
    {
        var random = new Random(13);
        var body = string.Concat(Enumerable.Range(0, 60).Select(i => (char)('a' + (i * 7 % 26)) + ((i * 13) % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var header = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var (secret, marker) = kind switch
        {
            // a 400-character token, a 1,700-character key block, a 110-character API key: each longer than the 128-character holdback or close to it
            "jwt" => (header + ".eyJ" + string.Concat(Enumerable.Repeat(body, 2)) + "." + string.Concat(Enumerable.Repeat(body, 1)), "eyJ"),
            "pem" => ("-----BEGIN RSA PRIVATE KEY-----\n" + string.Join("\n", Enumerable.Repeat(Convert.ToBase64String(Encoding.UTF8.GetBytes(body))[..64], 26)) + "\n-----END RSA PRIVATE KEY-----", "-----BEGIN"),
            _ => ("sk-ant-api03-" + body[..95], "sk-ant"),
        };
        for (var round = 0; round < 100; round++)
        {
            var text = Prose[..random.Next(0, Prose.Length)] + "the key is " + secret + " and that is all. " + Prose;
            var (relayed, finish, _) = await Relay(text, SafetyPolicy.Templates["baseline"], random);
            Assert.Equal("content_filter", finish);
            Assert.DoesNotContain(marker, relayed, StringComparison.Ordinal);
            Assert.True(text.StartsWith(relayed, StringComparison.Ordinal), "what was sent is a prefix of the answer");
        }
    }

    [Fact]
    public async Task Clean_text_passes_unchanged()
    {
        var text = string.Concat(Enumerable.Repeat(Prose, 20));
        var (relayed, finish, findings) = await Relay(text, SafetyPolicy.Templates["strict"], new Random(1));
        Assert.Equal(text, relayed);
        Assert.Equal("stop", finish);
        Assert.Equal(0, findings);
    }

    [Fact]
    public async Task Chunks_whose_only_content_is_held_back_are_not_sent_and_the_text_arrives_whole()
    {
        var text = string.Concat(Enumerable.Repeat(Prose, 20));
        var pieces = Enumerable.Range(0, (text.Length + 3) / 4).Select(i => text.Substring(i * 4, Math.Min(4, text.Length - (i * 4)))).ToList();
        var chunks = await ReadAll(new SafeStream(FakeChatStream.Text(pieces), SafetyPolicy.Templates["baseline"], _ => { }, new Dictionary<string, string>(StringComparer.Ordinal)));

        Assert.Equal(text, string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["delta"]?["content"])));
        // released in steps of at least StepChars: about one chunk in sixteen of four characters carries text
        Assert.InRange(chunks.Count, 2, (text.Length / SafeStream.StepChars) + 2);
        Assert.All(chunks.SkipLast(1), c => Assert.NotEqual("", (string?)c["choices"]![0]!["delta"]!["content"]));
    }

    [Fact]
    public async Task A_held_back_chunk_that_carries_anything_else_is_sent_with_empty_content()
    {
        // Azure's per-chunk filter annotations and log probabilities are the client's even while the text is held
        var pieces = Enumerable.Repeat("word ", 100).ToList();
        var annotated = new Annotated(FakeChatStream.Text(pieces));
        var chunks = await ReadAll(new SafeStream(annotated, SafetyPolicy.Templates["baseline"], _ => { }, new Dictionary<string, string>(StringComparer.Ordinal)));

        Assert.Equal(pieces.Count + 1, chunks.Count);
        Assert.All(chunks.SkipLast(1), c => Assert.NotNull(c["choices"]![0]!["content_filter_results"]));
        Assert.Equal(string.Concat(pieces), string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["delta"]?["content"])));
    }

    private static async Task<List<JsonObject>> ReadAll(IChatStream stream)
    {
        var chunks = new List<JsonObject>();
        await using (stream)
        {
            while (await stream.ReadAsync(default) is { } chunk) chunks.Add(chunk);
        }

        return chunks;
    }

    /// <summary>Adds Azure's <c>content_filter_results</c> to every content chunk's choice.</summary>
    private sealed class Annotated(IChatStream inner) : IChatStream
    {
        public TokenUsage? Usage => inner.Usage;

        public async ValueTask<JsonObject?> ReadAsync(CancellationToken cancellationToken)
        {
            var chunk = await inner.ReadAsync(cancellationToken);
            if (chunk?["choices"]?[0] is JsonObject choice && choice["delta"]?["content"] is not null)
                choice["content_filter_results"] = new JsonObject { ["hate"] = new JsonObject { ["filtered"] = false, ["severity"] = "safe" } };
            return chunk;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static async Task<(Dictionary<int, string> Arguments, string? Finish)> RelayTools(string[] arguments, SafetyPolicy policy, Random random)
    {
        // the calls' fragments interleaved in random pieces, as parallel tool calls stream
        var offsets = new int[arguments.Length];
        var pieces = new List<(int, string)>();
        while (offsets.Select((o, i) => o < arguments[i].Length).Any(left => left))
        {
            var tool = random.Next(arguments.Length);
            if (offsets[tool] >= arguments[tool].Length) continue;
            var n = Math.Min(arguments[tool].Length - offsets[tool], random.Next(1, 12));
            pieces.Add((tool, arguments[tool].Substring(offsets[tool], n)));
            offsets[tool] += n;
        }

        await using var stream = new SafeStream(FakeChatStream.ToolCalls(pieces), policy, _ => { }, new Dictionary<string, string>(StringComparer.Ordinal));
        var output = new Dictionary<int, string>();
        string? finish = null;
        while (await stream.ReadAsync(default) is { } chunk)
        {
            foreach (var choice in chunk["choices"]!.AsArray())
            {
                foreach (var call in choice!["delta"]?["tool_calls"]?.AsArray() ?? [])
                {
                    var tool = (int)call!["index"]!;
                    output[tool] = output.GetValueOrDefault(tool, "") + (string?)call["function"]?["arguments"];
                }

                finish = (string?)choice["finish_reason"] ?? finish;
            }
        }

        return (output, finish);
    }

    [Fact]
    public async Task Tool_call_arguments_in_a_stream_are_redacted_each_through_its_own_window_whatever_the_chunking()
    {
        var policy = SafetyPolicy.Templates["pii-redact"];
        var random = new Random(11);
        for (var round = 0; round < 200; round++)
        {
            string[] arguments =
            [
                "{\"to\":\"jane.doe@example.org\",\"body\":\"" + Prose[..random.Next(0, Prose.Length)] + "call +1 415 555 2671\"}",
                "{\"query\":\"" + Prose + "\",\"card\":\"4111 1111 1111 1111\"}",
            ];
            var (relayed, finish) = await RelayTools(arguments, policy, random);
            Assert.Equal("tool_calls", finish);
            for (var t = 0; t < arguments.Length; t++)
            {
                var expected = SafetyScanner.Redact(arguments[t], SafetyScanner.Scan(arguments[t], policy), policy, new Dictionary<string, string>(StringComparer.Ordinal));
                // (each kind occurs in one call only, so the shared placeholder numbering matches a per-call redaction)
                Assert.Equal(expected, relayed[t]);
                Assert.NotNull(JsonNode.Parse(relayed[t]));
            }

            Assert.DoesNotContain("jane.doe", relayed[0], StringComparison.Ordinal);
            Assert.Contains("<EMAIL_1>", relayed[0], StringComparison.Ordinal);
            Assert.DoesNotContain("4111", relayed[1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_secret_in_streamed_tool_call_arguments_ends_the_stream_before_any_of_it_is_sent()
    {
        var policy = SafetyPolicy.Templates["baseline"];
        var random = new Random(3);
        for (var round = 0; round < 100; round++)
        {
            string[] arguments = ["{\"cmd\":\"" + Prose[..random.Next(0, Prose.Length)] + " export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\"}", "{\"q\":\"fine\"}"];
            var (relayed, finish) = await RelayTools(arguments, policy, random);
            Assert.Equal("content_filter", finish);
            Assert.DoesNotContain("AKIA", relayed.GetValueOrDefault(0, ""), StringComparison.Ordinal);
        }
    }
}
