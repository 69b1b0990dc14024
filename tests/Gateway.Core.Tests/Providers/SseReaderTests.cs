using System.Text;
using Gateway.Core.Providers;

namespace Gateway.Core.Tests.Providers;

public sealed class SseReaderTests
{
    /// <summary>A stream that hands out at most <paramref name="step"/> bytes a read, so lines and characters straddle reads.</summary>
    private sealed class Trickle(byte[] bytes, int step) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(step, buffer.Length)], cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(step, count));
    }

    private static async Task<List<SseEvent>> ReadAllAsync(string wire, int step)
    {
        using var reader = new SseReader(new Trickle(Encoding.UTF8.GetBytes(wire), step));
        var events = new List<SseEvent>();
        while (await reader.ReadAsync(default) is { } e) events.Add(e);
        return events;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task Events_with_any_line_ends_names_comments_and_several_data_lines_read_the_same_in_any_pieces(int step)
    {
        var wire = "\uFEFF: a comment\n"
            + "data: {\"a\":\"café 東京 🙂\"}\n\n"
            + "event: message_delta\r\ndata: one\r\ndata:two\r\n\r\n"
            + "data: cr only\r\rdata: x\n\n"
            + "\n\n"
            + "data: no end";
        var events = await ReadAllAsync(wire, step);
        Assert.Equal(
            [
                new SseEvent(null, "{\"a\":\"café 東京 🙂\"}"),
                new SseEvent("message_delta", "one\ntwo"),
                new SseEvent(null, "cr only"),
                new SseEvent(null, "x"),
                new SseEvent(null, "no end"),
            ], events);
    }

    [Fact]
    public async Task An_empty_stream_has_no_events()
    {
        Assert.Empty(await ReadAllAsync("", 1));
        Assert.Empty(await ReadAllAsync(": only a comment\n\n", 3));
    }

    [Fact]
    public async Task A_long_event_spanning_many_buffers_comes_back_whole()
    {
        var payload = string.Concat(Enumerable.Repeat("0123456789", 5000));
        var events = await ReadAllAsync("data: " + payload + "\n\ndata: next\n\n", 1000);
        Assert.Equal([new SseEvent(null, payload), new SseEvent(null, "next")], events);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1000)]
    [InlineData(5)]
    public async Task Many_events_of_multibyte_text_cross_segment_boundaries_and_come_back_whole(int step)
    {
        // events of 2-, 3- and 4-byte characters whose lengths drift, so lines and characters fall across the pipe's
        // segments at every offset
        var pieces = new[] { "é", "東京", "🙂", "a", "ß€" };
        var texts = Enumerable.Range(0, 2000).Select(i => string.Concat(Enumerable.Range(0, 1 + i % 97).Select(j => pieces[(i + j) % pieces.Length]))).ToList();
        var wire = string.Concat(texts.Select(t => "data: {\"c\":\"" + t + "\"}\n\n"));
        Assert.True(Encoding.UTF8.GetByteCount(wire) > 100 * SseReader.SegmentBytes);

        var events = await ReadAllAsync(wire, step);

        Assert.Equal(texts.Select(t => new SseEvent(null, "{\"c\":\"" + t + "\"}")), events);
    }
}
