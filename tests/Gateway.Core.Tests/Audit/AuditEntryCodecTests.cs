using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Audit;
using static Gateway.Core.Tests.Audit.AuditTestLog;

namespace Gateway.Core.Tests.Audit;

/// <summary>One canonical text per entry: fixed order, nulls left out, details sorted; read back exactly.</summary>
public sealed class AuditEntryCodecTests
{
    [Fact]
    public void An_entry_is_written_in_its_canonical_form()
    {
        var e = new AuditEvent
        {
            Id = "evt-1",
            At = DateTimeOffset.Parse("2026-03-01T10:00:00.5+01:00", System.Globalization.CultureInfo.InvariantCulture),
            Type = AuditEventTypes.BudgetSet,
            Actor = "admin:ops",
            Target = "team:finance/daily",
            Before = JsonNode.Parse("""{ "limitUsd": 10.50, "note": "<b>" }"""),
            Details = new Dictionary<string, string> { ["b"] = "2", ["B"] = "1", ["a"] = "é" },
        };
        Assert.Equal(
            """{"sequence":42,"id":"evt-1","at":"2026-03-01T09:00:00.5000000Z","type":"admin.budget.set","actor":"admin:ops","target":"team:finance/daily","before":{"limitUsd":10.50,"note":"<b>"},"details":{"B":"1","a":"é","b":"2"}}""",
            AuditEntryCodec.Serialize(new AuditEntry(42, e)));
    }

    [Fact]
    public void Reading_and_writing_again_gives_the_same_text()
    {
        for (var i = 0; i < 50; i++)
        {
            var text = Entry(i * 1000L, i);
            var entry = AuditEntryCodec.Parse(text);
            Assert.Equal(i * 1000L, entry.Sequence);
            Assert.Equal(Event(i).Id, entry.Event.Id);
            Assert.Equal(Event(i).At, entry.Event.At);
            Assert.Equal(text, AuditEntryCodec.Serialize(entry));
        }
    }

    [Property(MaxTest = 300)]
    public bool Any_strings_survive_the_round_trip(NonNegativeInt sequence, NonEmptyString id, string actor, string? scope, string[] keys)
    {
        var details = (keys ?? []).Where(k => k is not null).Distinct(StringComparer.Ordinal).ToDictionary(k => k, k => k + "!", StringComparer.Ordinal);
        var entry = new AuditEntry(sequence.Get, new AuditEvent
        {
            Id = id.Get, At = T0, Type = AuditEventTypes.SafetyDecision, Actor = actor ?? "", Scope = scope,
            Details = details.Count == 0 ? null : details,
        });
        // a lone surrogate is not Unicode: the writer replaces it with U+FFFD, so it cannot come back as it was
        if ((id.Get + actor + scope + string.Concat(details.Keys)).Any(char.IsSurrogate)) return true;
        var text = AuditEntryCodec.Serialize(entry);
        var back = AuditEntryCodec.Parse(text);
        return AuditEntryCodec.Serialize(back) == text && back.Event.Id == id.Get && back.Event.Scope == scope
            && back.Event.Details?.Count == (details.Count == 0 ? null : details.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t"}""")]
    [InlineData("""{"sequence":-1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x"}""")]
    [InlineData("""{"sequence":1.5,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x"}""")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00Z","type":"t","actor":"x"}""")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x","extra":1}""")]
    [InlineData("""{"sequence":1,"id":"a","id":"b","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x"}""")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x","details":{"k":1}}""")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x"} {}""")]
    [InlineData("""{"sequence":1,"id":"a","at":"2026-03-01T09:00:00.0000000Z","type":"t","actor":"x",""")]
    public void Anything_else_is_refused(string text) => Assert.Throws<FormatException>(() => AuditEntryCodec.Parse(text));

    [Fact]
    public void The_leaf_hash_is_over_the_text_including_the_sequence()
    {
        var a = AuditEntryCodec.LeafHash(Entry(1, 7));
        Assert.Equal(MerkleTree.LeafHash(System.Text.Encoding.UTF8.GetBytes(Entry(1, 7))), a);
        Assert.NotEqual(a, AuditEntryCodec.LeafHash(Entry(2, 7)));
    }
}
