using System.Text;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Protocol;

public sealed class StreamTextTests
{
    [Fact]
    public void Empty_text_is_the_empty_string()
    {
        var text = new StreamText();
        text.Append("");
        text.Append((string?)null);
        Assert.Equal("", text.ToString());
        Assert.Equal(0, text.Length);
        Assert.Equal(0, text.CapacityBytes);
    }

    [Fact]
    public void Pieces_across_many_segments_come_back_whole_in_order()
    {
        var text = new StreamText();
        var expected = new StringBuilder();
        for (var i = 0; i < 5000; i++)
        {
            // one, two, three and four UTF-8 bytes per character, so pieces straddle the segments' ends
            var piece = (i % 4) switch { 0 => " word", 1 => " café", 2 => " 東京", _ => " 🙂x" };
            text.Append(piece);
            expected.Append(piece);
        }

        Assert.Equal(expected.ToString(), text.ToString());
        Assert.Equal(expected.Length, text.Length);
    }

    [Fact]
    public void Text_under_one_block_is_stored_as_it_is()
    {
        var text = new StreamText();
        for (var i = 0; i < 800; i++) text.Append(" word");
        // 4,000 bytes: in the working segment, which grew to 4 KiB, nothing compressed yet
        Assert.Equal(4000, text.Utf8Bytes);
        Assert.Equal(StreamText.BlockBytes, text.CapacityBytes);
        Assert.Equal(string.Concat(Enumerable.Repeat(" word", 800)), text.ToString());
    }

    [Fact]
    public void Repetitive_text_is_stored_in_a_small_part_of_its_bytes()
    {
        var text = new StreamText();
        for (var i = 0; i < 20_000; i++) text.Append(" word");
        // 100,000 characters: a StringBuilder holds 200,000 bytes, the UTF-8 100,000; 24 full blocks shrink to a few
        // dozen bytes each, and the working segment holds the rest
        Assert.Equal(100_000, text.Utf8Bytes);
        Assert.InRange(text.CapacityBytes, StreamText.BlockBytes, StreamText.BlockBytes + 24 * 100);
        Assert.Equal(string.Concat(Enumerable.Repeat(" word", 20_000)), text.ToString());
    }

    [Fact]
    public void Prose_is_stored_in_well_under_its_bytes()
    {
        var text = new StreamText();
        var expected = Prose(seed: 7, words: 30_000);
        foreach (var piece in expected.Split(' ')) text.Append(piece + " ");
        var bytes = text.Utf8Bytes;
        Assert.True(bytes > 150_000, $"{bytes} bytes of prose");
        // words drawn from a vocabulary compress better than real prose (1.9× in 4 KiB blocks); real prose is measured in
        // the README
        Assert.InRange(text.CapacityBytes, 0, bytes * 6 / 10 + StreamText.BlockBytes);
        Assert.Equal(string.Join("", expected.Split(' ').Select(w => w + " ")), text.ToString());
    }

    [Fact]
    public void Text_that_does_not_shrink_by_an_eighth_is_kept_as_it_is()
    {
        // random characters U+0000–U+007F: 7 bits of 8 are news, so no coder shrinks them by an eighth
        var random = new Random(11);
        var expected = new string(Enumerable.Range(0, 100_000).Select(_ => (char)random.Next(0, 128)).ToArray());
        var text = new StreamText();
        for (var at = 0; at < expected.Length; at += 37) text.Append(expected.AsSpan(at, Math.Min(37, expected.Length - at)));
        Assert.Equal(100_000, text.Utf8Bytes);
        Assert.InRange(text.CapacityBytes, 100_000, 100_000 + StreamText.BlockBytes);
        Assert.Equal(expected, text.ToString());
    }

    [Fact]
    public void A_block_a_few_bytes_short_of_full_is_kept_at_its_length_and_the_segment_reused()
    {
        // 4,094 bytes of noise, then a character of three bytes that does not fit in the last two: the block is sealed
        // at 4,094 bytes, kept as it is (noise), and the working segment goes on holding the euro sign
        var random = new Random(3);
        var noise = new string(Enumerable.Range(0, 4094).Select(_ => (char)random.Next(0, 128)).ToArray());
        var text = new StreamText();
        text.Append(noise);
        text.Append("€ and more");
        Assert.Equal(4094 + 3 + 9, text.Utf8Bytes);
        Assert.Equal(4094 + StreamText.BlockBytes, text.CapacityBytes);
        Assert.Equal(noise + "€ and more", text.ToString());
    }

    [Fact]
    public void Blocks_kept_as_they_are_and_compressed_ones_come_back_in_order()
    {
        var random = new Random(5);
        var text = new StreamText();
        var expected = new StringBuilder();
        for (var round = 0; round < 12; round++)
        {
            // alternately ~6 KB of noise (kept as it is) and ~6 KB of prose (compressed), so blocks of both kinds mix
            var part = round % 2 == 0
                ? new string(Enumerable.Range(0, 6000).Select(_ => (char)random.Next(0, 128)).ToArray())
                : Prose(round, 1000);
            text.Append(part);
            expected.Append(part);
        }

        Assert.Equal(expected.ToString(), text.ToString());
        Assert.Equal(expected.Length, text.Length);
    }

    private static readonly string[] Vocabulary =
        ("the of and to in a is that for it as was with be by on not he this are or his from at which but have an they " +
         "you were her she there one all we their can has been if more when will would who so no gateway stream token " +
         "budget request model cost provider answer client limit cache window buffer memory recovery continuation price")
        .Split(' ');

    private static string Prose(int seed, int words)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            if (i > 0) text.Append(i % 13 == 0 ? ". " : i % 7 == 0 ? ", " : " ");
            var word = Vocabulary[random.Next(Vocabulary.Length)];
            text.Append(i % 13 == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
        }

        return text.ToString();
    }

    [Fact]
    public void A_surrogate_pair_split_between_two_appends_is_kept_whole()
    {
        var text = new StreamText();
        var smile = "🙂";
        text.Append("a" + smile[0]);
        Assert.Equal("a" + smile[0], text.ToString());
        text.Append(smile[1] + "b");
        Assert.Equal("a🙂b", text.ToString());
        Assert.Equal(4, text.Length);
    }

    [Fact]
    public void A_lone_surrogate_comes_back_as_the_replacement_character()
    {
        var text = new StreamText();
        text.Append("a\uD83D");
        text.Append("b\uDE42c");
        Assert.Equal("a\uFFFDb\uFFFDc", text.ToString());
    }

    [Property(MaxTest = 200)]
    public bool Any_valid_text_in_any_pieces_comes_back_as_it_went_in(string[] pieces)
    {
        var text = new StreamText();
        var expected = new StringBuilder();
        foreach (var piece in pieces ?? [])
        {
            // FsCheck's strings may hold lone surrogates, which UTF-8 cannot store: keep the valid ones
            var valid = piece is null ? null : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(piece));
            if (valid is not null && valid != piece) continue;
            text.Append(valid);
            expected.Append(valid);
        }

        return text.ToString() == expected.ToString() && text.Length == expected.Length;
    }

    [Property(MaxTest = 50)]
    public bool Any_valid_text_in_large_pieces_comes_back_as_it_went_in(string[] pieces, byte repeat)
    {
        // each piece repeated, so the text runs over many blocks and some of them compress
        var text = new StreamText();
        var expected = new StringBuilder();
        foreach (var piece in pieces ?? [])
        {
            var valid = piece is null ? null : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(piece));
            if (valid is null || valid != piece) continue;
            var large = string.Concat(Enumerable.Repeat(valid, 1 + repeat * 4));
            text.Append(large);
            expected.Append(large);
        }

        return text.ToString() == expected.ToString() && text.Length == expected.Length;
    }

    [Fact]
    public void A_chunk_gives_each_choices_content_then_its_tool_calls_names_and_arguments()
    {
        var text = new StreamText();
        text.Note((JsonObject)JsonNode.Parse("""
            {"choices":[
              {"index":0,"delta":{"role":"assistant","content":"Hello"}},
              {"index":1,"delta":{"content":" there","tool_calls":[{"index":0,"function":{"name":"lookup","arguments":"{\"q\":"}},{"index":1,"function":{"arguments":"1}"}}]}},
              {"index":2,"delta":{"content":null}},
              {"index":3,"finish_reason":"stop"}
            ]}
            """)!);
        text.Note((JsonObject)JsonNode.Parse("""{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}""")!);
        Assert.Equal("Hello therelookup{\"q\":1}", text.ToString());
    }
}
