using Azure.Storage.Queues;
using Gateway.Testing;

namespace Gateway.Deploy.Tests;

/// <summary>Counting and replaying a poison queue on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class PoisonTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Poison_counts_the_messages_and_replay_moves_them_back_unchanged_up_to_the_limit()
    {
        using var h = new Harness(azurite);
        var name = azurite.UniqueName("usage-records");
        var queue = new QueueClient(azurite.ConnectionString, name);
        var poison = new QueueClient(azurite.ConnectionString, name + "-poison");
        await poison.CreateAsync();
        // as the Functions host writes them (host.json messageEncoding base64): the text is moved as is
        var texts = Enumerable.Range(0, 40).Select(i => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{{\"record\":{i}}}"))).ToList();
        foreach (var text in texts) await poison.SendMessageAsync(text);
        var queueUrl = queue.Uri.GetLeftPart(UriPartial.Path)[..^name.Length];

        Assert.Equal(0, await h.RunAsync("poison", "--queue-url", queueUrl, "--queue", name));
        Assert.Equal($"{name}-poison: 40 messages", h.Out.ToString().Trim());
        Assert.False(await queue.ExistsAsync());

        Assert.Equal(0, await h.RunAsync("poison", "--queue-url", queueUrl, "--queue", name, "--replay", "35"));
        Assert.Contains($"moved 35 messages back to {name}", h.Out.ToString(), StringComparison.Ordinal);
        Assert.Equal(5, (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var moved = new List<string>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32)).Value;
            if (batch.Length == 0) break;
            moved.AddRange(batch.Select(m => m.MessageText));
        }

        Assert.Equal(35, moved.Count);
        Assert.Subset(texts.ToHashSet(), moved.ToHashSet());
        Assert.Empty(h.Arm.Calls);
    }

    [Fact]
    public async Task A_queue_without_a_poison_queue_has_none_and_bad_names_are_refused()
    {
        using var h = new Harness(azurite);
        var name = azurite.UniqueName("audit-events");
        var queueUrl = new QueueClient(azurite.ConnectionString, name).Uri.GetLeftPart(UriPartial.Path)[..^name.Length];
        Assert.Equal(0, await h.RunAsync("poison", "--queue-url", queueUrl, "--queue", name, "--replay", "10"));
        Assert.Contains($"{name}-poison: 0 messages", h.Out.ToString(), StringComparison.Ordinal);
        Assert.Contains("moved 0 messages", h.Out.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await h.RunAsync("poison", "--queue-url", queueUrl, "--queue", "Usage_Records"));
        Assert.Contains("--queue must be a queue name", h.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await h.RunAsync("poison", "--queue-url", queueUrl, "--queue", name, "--replay", "all"));
    }
}
