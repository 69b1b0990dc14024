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
    public void Ascii_is_stored_in_about_one_byte_a_character()
    {
        var text = new StreamText();
        for (var i = 0; i < 20_000; i++) text.Append(" word");
        // 100,000 characters: a StringBuilder holds 200,000 bytes; the segments at most one free 4 KiB segment more
        Assert.InRange(text.CapacityBytes, 100_000, 100_000 + 4096);
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
