using System.Text.Json.Nodes;

namespace Gateway.EndToEnd.Tests;

/// <summary>An end user's data on the real host: exported once their records are stored, then erased.</summary>
[Collection(HostCollection.Name)]
public sealed class UserDataTests(HostFixture fixture)
{
    [HostFact]
    public async Task A_user_s_data_is_exported_then_erased_and_an_export_after_is_empty()
    {
        var user = "gdpr-" + Guid.NewGuid().ToString("N")[..10];
        var other = user + "-other";
        var key = fixture.Keys["main"].Key;
        foreach (var (who, i) in new[] { (user, 0), (user, 1), (user, 2), (other, 3) })
        {
            var reply = await fixture.ChatAsync(key, $$"""{"model":"mock-1","temperature":0,"user":"{{who}}","messages":[{"role":"user","content":"gdpr {{user}} {{i}}: write to jane.doe@example.org"}]}""");
            Assert.Equal(200, reply.Status);
        }

        static int Count(Reply r, string kind) => r.Json?[kind]?.AsArray().Count ?? -1;
        var export = await HostFixture.EventuallyAsync(() => fixture.AdminAsync(HttpMethod.Get, $"gateway/users/{user}/data"),
            r => r.Status == 200 && Count(r, "usageRecords") == 3 && Count(r, "rollups") >= 4 && Count(r, "loggedContent") == 3, TimeSpan.FromSeconds(60), "the user's records and rollups");
        Assert.Equal(user, (string?)export.Json!["user"]);
        Assert.Equal("application/json", export.Header("content-type"));
        Assert.All(export.Json["usageRecords"]!.AsArray(), r => Assert.Equal(user, (string?)r!["user"]));
        Assert.Equal(3, Count(export, "cachedAnswers")); // the memory cache of the one instance that answered them
        // the main key logs content: redacted before it was kept
        Assert.All(export.Json["loggedContent"]!.AsArray(), c => Assert.Contains("<EMAIL_1>", (string?)c!["request"], StringComparison.Ordinal));
        Assert.DoesNotContain("jane.doe", export.Json["loggedContent"]!.ToJsonString(), StringComparison.Ordinal);

        var erased = await fixture.AdminAsync(HttpMethod.Delete, $"gateway/users/{user}/data");
        Assert.Equal(200, erased.Status);
        Assert.Equal(3, (long)erased.Json!["usageRecords"]!);
        Assert.True((long)erased.Json["rollups"]! >= 4, erased.ToString());
        Assert.Equal(3, (long)erased.Json["cachedAnswers"]!);
        Assert.Equal(3, (long)erased.Json["loggedContent"]!);
        Assert.StartsWith("u_", (string?)erased.Json["subject"], StringComparison.Ordinal);

        var after = await fixture.AdminAsync(HttpMethod.Get, $"gateway/users/{user}/data");
        Assert.Equal(200, after.Status);
        foreach (var kind in new[] { "usageRecords", "rollups", "cachedAnswers", "loggedContent" }) Assert.Equal(0, Count(after, kind));
        var untouched = await fixture.AdminAsync(HttpMethod.Get, $"gateway/users/{other}/data");
        Assert.Equal(1, Count(untouched, "usageRecords"));

        var tooLong = await fixture.AdminAsync(HttpMethod.Delete, $"gateway/users/{new string('u', 300)}/data");
        Assert.Equal((400, "id"), (tooLong.Status, (string?)tooLong.Json!["error"]!["param"]));
        var anonymous = await fixture.SendAsync(HttpMethod.Get, $"gateway/users/{user}/data", key: null);
        Assert.Equal(401, anonymous.Status);
    }
}
