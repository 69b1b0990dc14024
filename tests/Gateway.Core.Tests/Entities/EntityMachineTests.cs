using System.Text.Json;
using Gateway.Core.Entities;

namespace Gateway.Core.Tests.Entities;

/// <summary>The envelope around every entity kind: replies by ask id, grouped commands, refusals, outbox, bounds.</summary>
public sealed class EntityMachineTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A counter: add n (refusing negatives), reply the total; raises "big" once the total passes 100.</summary>
    private sealed class Counter : EntityKind<CounterState, int, int>
    {
        public override string Name => "counter";

        public override EntityStep<CounterState, int> Step(CounterState? state, int command, DateTimeOffset now)
        {
            if (command < 0) throw new ArgumentOutOfRangeException(nameof(command), "negative");
            var total = (state?.Total ?? 0) + command;
            var raised = total > 100 && (state?.Total ?? 0) <= 100 ? new[] { new EntityOutboxItem("big", "{}", null, now) } : null;
            return new(new CounterState(total), total, raised);
        }
    }

    private sealed record CounterState(int Total);

    private static readonly Counter Kind = new();

    private static EntityMessage Ask(int n, string id, string from = "i1") => new() { Command = JsonSerializer.Serialize(n), AskId = id, From = from };

    private static int Reply(EntityEnvelope e, string id) => e.Replies[id].Value!.Value.GetInt32();

    [Fact]
    public void A_command_changes_the_state_and_its_reply_is_filed_under_the_ask_id()
    {
        var e = Kind.Apply(null, Ask(5, "a"), Now);
        e = Kind.Apply(e, Ask(7, "b"), Now);
        Assert.Equal(12, Kind.StateOf(e)!.Total);
        Assert.Equal(5, Reply(e, "a"));
        Assert.Equal(12, Reply(e, "b"));
    }

    [Fact]
    public void Grouped_commands_are_applied_in_order_with_one_reply_each_and_a_refused_one_changes_nothing()
    {
        var e = Kind.Apply(null, new EntityMessage { Commands = ["1", "-3", "2"], AskId = "g" }, Now);
        var items = e.Replies["g"].Value!.Value.Deserialize<List<EntityItemReply>>(EntityStateJson.Options)!;
        Assert.Equal(1, items[0].Value!.Value.GetInt32());
        Assert.Null(items[1].Value);
        Assert.Contains("negative", items[1].Error, StringComparison.Ordinal);
        Assert.Equal(3, items[2].Value!.Value.GetInt32());
        Assert.Equal(3, Kind.StateOf(e)!.Total);
    }

    [Fact]
    public void A_refused_ask_gets_an_error_reply_and_leaves_the_state_as_it_was()
    {
        var e = Kind.Apply(null, Ask(4, "a"), Now);
        e = Kind.Apply(e, Ask(-1, "b"), Now);
        Assert.Equal(4, Kind.StateOf(e)!.Total);
        Assert.Null(e.Replies["b"].Value);
        Assert.NotNull(e.Replies["b"].Error);
    }

    [Fact]
    public void Raised_items_wait_in_the_outbox_with_their_raiser_until_acknowledged()
    {
        var e = Kind.Apply(null, Ask(150, "a", from: "instance-7"), Now);
        var item = Assert.Single(e.Outbox);
        Assert.Equal(("big", "instance-7"), (item.Id, item.RaisedBy));
        e = Kind.Apply(e, new EntityMessage { Ack = ["big"] }, Now);
        Assert.Empty(e.Outbox);
    }

    [Fact]
    public void Replies_are_dropped_once_read_or_when_old_and_never_grow_past_the_bound()
    {
        var e = Kind.Apply(null, Ask(1, "a"), Now);
        e = Kind.Apply(e, Ask(1, "b"), Now);
        // the asker of "a" says it has read it
        e = Kind.Apply(e, new EntityMessage { Command = "1", Read = ["a"] }, Now);
        Assert.False(e.Replies.ContainsKey("a"));
        Assert.True(e.Replies.ContainsKey("b"));
        // an unread reply goes after the retention
        e = Kind.Apply(e, new EntityMessage { Command = "1" }, Now + EntityMachine.ReplyRetention + TimeSpan.FromSeconds(1));
        Assert.Empty(e.Replies);

        for (var i = 0; i < EntityMachine.MaxReplies + 50; i++) e = Kind.Apply(e, Ask(1, "x" + i), Now.AddMilliseconds(i));
        Assert.Equal(EntityMachine.MaxReplies, e.Replies.Count);
        Assert.True(e.Replies.ContainsKey("x" + (EntityMachine.MaxReplies + 49)));
    }

    [Fact]
    public void An_entity_with_nothing_left_to_keep_is_empty()
    {
        Assert.True(new EntityEnvelope().IsEmpty);
        Assert.False(Kind.Apply(null, new EntityMessage { Command = "1" }, Now).IsEmpty);
    }

    [Theory]
    [InlineData("team:payments")]
    [InlineData("key:key_abc|model:gpt-4o")]
    public void Readable_keys_are_stored_as_they_are(string key) => Assert.Equal(key, EntityAddress.StorageKey(key));

    [Theory]
    [InlineData("user:a/b")]
    [InlineData("user:#?")]
    [InlineData("user:\u00e9l\u00e8ve")]
    [InlineData("user:@")]
    public void Keys_with_characters_table_keys_cannot_hold_are_stored_as_a_hash(string key)
    {
        var stored = EntityAddress.StorageKey(key);
        Assert.StartsWith("h~", stored, StringComparison.Ordinal);
        Assert.Equal(stored, EntityAddress.StorageKey(key));
        Assert.NotEqual(stored, EntityAddress.StorageKey(key + "x"));
    }

    [Fact]
    public void Long_keys_are_stored_as_a_hash() => Assert.StartsWith("h~", EntityAddress.StorageKey("user:" + new string('u', 300)), StringComparison.Ordinal);
}
