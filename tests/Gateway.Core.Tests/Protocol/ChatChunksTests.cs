using System.Text.Json.Nodes;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Protocol;

public sealed class ChatChunksTests
{
    [Fact]
    public void A_chunk_s_identity_is_its_naming_fields_alone_and_outlives_the_chunk()
    {
        var chunk = (JsonObject)JsonNode.Parse("""
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764547200,"model":"gpt-4o","system_fingerprint":"fp_1",
             "choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}
            """)!;
        var identity = ChatChunks.IdentityOf(chunk);
        Assert.Equal("""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764547200,"model":"gpt-4o","system_fingerprint":"fp_1"}""",
            identity.ToJsonString());

        chunk["id"] = "changed";
        chunk.Remove("model");
        Assert.Equal("chatcmpl-1", (string?)identity["id"]);
        Assert.Equal("gpt-4o", (string?)identity["model"]);
    }

    [Fact]
    public void Fields_a_chunk_lacks_are_absent_from_its_identity_and_never_copied()
    {
        var identity = ChatChunks.IdentityOf((JsonObject)JsonNode.Parse("""{"id":"a","created":1,"choices":[]}""")!);
        Assert.Equal("""{"id":"a","created":1}""", identity.ToJsonString());

        var later = (JsonObject)JsonNode.Parse("""{"id":"b","model":"m","system_fingerprint":"fp","choices":[]}""")!;
        ChatChunks.CopyIdentity(identity, later);
        Assert.Equal("""{"id":"a","model":"m","system_fingerprint":"fp","choices":[],"created":1}""", later.ToJsonString());
    }
}
