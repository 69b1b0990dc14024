using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Microsoft.ML.Tokenizers;

namespace Gateway.Core.Tests.Pricing;

/// <summary>Counting stays linear and bounded whatever the text: no prompt can make the gateway spend minutes tokenizing.</summary>
public sealed class TokenCounterTests
{
    private static readonly Tokenizer Whole = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Fact(Timeout = 300_000)]
    public async Task A_long_run_without_spaces_is_counted_in_segments_not_in_one_quadratic_piece()
    {
        // 200,000 letters in one pre-tokenizer piece: the tokenizer alone did not finish 100,000 in ten minutes.
        // (The timeout only guards against a hang; nothing here measures speed.)
        var letters = new string('a', 200_000);
        var spaces = new string(' ', 200_000);
        var count = await Task.Run(() => TokenCounter.Count(TokenizerKind.O200k, letters));
        var blank = await Task.Run(() => TokenCounter.Count(TokenizerKind.Cl100k, spaces));
        // each segment of 256 letters is 32 tokens: the count stays an honest one, not a byte bound
        Assert.Equal(200_000 / TokenCounter.SegmentChars * 32 + TokenCounter.Count(TokenizerKind.O200k, new string('a', 200_000 % TokenCounter.SegmentChars)), count);
        Assert.InRange(blank, 1, 200_000 / 100);
    }

    [Fact]
    public void Segments_end_before_a_word_when_one_is_near_and_never_split_a_surrogate_pair()
    {
        var words = string.Concat(Enumerable.Repeat("lorem ipsum ", 100));
        var cut = TokenCounter.SegmentLength(words);
        Assert.InRange(cut, TokenCounter.SegmentChars / 4, TokenCounter.SegmentChars);
        Assert.Equal(' ', words[cut]);
        Assert.NotEqual(' ', words[cut - 1]);

        var emoji = string.Concat(Enumerable.Repeat("🙂", 300));
        var split = TokenCounter.SegmentLength(emoji);
        Assert.False(char.IsHighSurrogate(emoji[split - 1]));
        Assert.True(split <= TokenCounter.SegmentChars);
    }

    [Fact]
    public void Each_kind_counts_with_its_own_encoding()
    {
        // text on which the two encodings disagree (o200k has far more non-English tokens): a gpt-4 (cl100k) prompt is
        // not counted as a gpt-4o (o200k) one, nor the other way round
        const string text = "Привет, мир! Как дела? नमस्ते दुनिया। 数据科学和机器学习正在改变世界。";
        var o200k = Whole.CountTokens(text);
        var cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base").CountTokens(text);
        Assert.NotEqual(o200k, cl100k);
        Assert.Equal(o200k, TokenCounter.Count(TokenizerKind.O200k, text));
        Assert.Equal(cl100k, TokenCounter.Count(TokenizerKind.Cl100k, text));
    }

    [Theory]
    [InlineData(64, 256)] // a space at a quarter of the window or nearer the start would make a short segment: not a cut
    [InlineData(65, 65)]  // just past the quarter: the segment ends before the word
    [InlineData(256, 256)]
    public void A_segment_ends_at_a_space_only_past_a_quarter_of_the_window(int space, int expected)
    {
        var text = new StringBuilder(new string('x', 400)) { [space] = ' ' }.ToString();
        Assert.Equal(expected, TokenCounter.SegmentLength(text));
    }

    [Property(MaxTest = 200)]
    public Property Counting_in_segments_never_counts_fewer_tokens_than_the_whole_text() =>
        Prop.ForAll(Arb.From(TextGen()), text =>
        {
            var segmented = TokenCounter.Count(TokenizerKind.O200k, text);
            var whole = Whole.CountTokens(text);
            // a cut can only stop a merge; on ordinary text the segments cost a token or so per cut at most
            return segmented >= whole && segmented <= whole + (text.Length / (TokenCounter.SegmentChars / 4)) + 1;
        });

    [Fact]
    public void Beyond_the_length_bound_text_is_bounded_by_its_bytes_without_tokenizing()
    {
        const string text = "hello world, and then some more words: naïve 数据";
        var budget = 12;
        var expected = TokenCounter.Count(TokenizerKind.O200k, text[..budget]) + Encoding.UTF8.GetByteCount(text[budget..]);
        Assert.Equal(expected, TokenCounter.Count(TokenizerKind.O200k, text, budget));
        // with budget enough, the count is the tokenizer's (an upper bound: every token is at least one byte)
        Assert.Equal(Whole.CountTokens(text), TokenCounter.Count(TokenizerKind.O200k, text, text.Length));
        Assert.True(TokenCounter.Count(TokenizerKind.O200k, text, 0) >= Whole.CountTokens(text));
    }

    [Fact]
    public void The_length_bound_is_per_request_not_per_message()
    {
        // two messages of 600,000 characters: the second is past the bound of 1,048,576 and counted by its bytes
        var big = new string('x', 600_000);
        var json = $$"""{"model":"m","messages":[{"role":"user","content":"{{big}}"},{"role":"user","content":"{{big}}"}]}""";
        var request = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));
        var counted = TokenCounter.CountPrompt(request, TokenizerKind.O200k, 1600);
        var first = TokenCounter.Count(TokenizerKind.O200k, big);
        // the roles are text too: "user" twice comes out of the bound before the second content
        var rest = TokenCounter.MaxTokenizedChars - big.Length - "user".Length - "user".Length;
        var second = TokenCounter.Count(TokenizerKind.O200k, big[..rest]) + (big.Length - rest);
        var framing = TokenCounter.Priming + (2 * (TokenCounter.PerMessage + TokenCounter.Count(TokenizerKind.O200k, "user")));
        Assert.Equal(framing + first + second, counted);
    }

    [Fact]
    public void The_prefix_is_counted_in_the_same_pass_as_the_prompt_its_leading_turns_and_tools_with_their_framing()
    {
        const string Tools = "[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\"}}}]";
        const string Lead = """{"role":"system","content":"You answer questions about invoices, politely and briefly."},{"role":"user","content":"hello"},{"role":"assistant","content":"Hi, how can I help?"}""";
        ChatRequest Request(string messages) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes($$"""{"model":"m","tools":{{Tools}},"messages":[{{messages}}]}"""));
        var whole = Request(Lead + """,{"role":"user","content":"what is due this month?"}""");
        var (prompt, prefix) = TokenCounter.CountPromptAndPrefix(whole, TokenizerKind.O200k, 1600);
        Assert.Equal(TokenCounter.CountPrompt(whole, TokenizerKind.O200k, 1600), prompt);
        // the prefix is what the leading turns and the tools count alone, without the reply's priming
        Assert.Equal(3, whole.PrefixMessageCount);
        var leadOnly = Request(Lead);
        var (leadPrompt, _) = TokenCounter.CountPromptAndPrefix(leadOnly, TokenizerKind.O200k, 1600);
        Assert.Equal(leadPrompt - TokenCounter.Priming, prefix);
        Assert.True(prefix < prompt);
        // a single user message without tools has no prefix
        var lone = ChatRequestParser.Parse(Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(0, TokenCounter.CountPromptAndPrefix(lone, TokenizerKind.O200k, 1600).Prefix);
    }

    private static Gen<string> TextGen()
    {
        var word = Gen.Elements("the", "quick", "brown", "fox", "naïve", "数据", "🙂", "1234567", "aaaaaaaaaaaa", "\n", "  ", "-", "x=y;");
        return Gen.Choose(0, 400).SelectMany(n => Gen.ListOf(n, word)).Select(words => string.Join(" ", words));
    }
}
