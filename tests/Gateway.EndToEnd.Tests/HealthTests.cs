namespace Gateway.EndToEnd.Tests;

/// <summary>
/// The health routes on the real host, without a key, as a load balancer or azd probes them: liveness answers at once;
/// readiness reaches Table, Queue and Blob storage with the app's connection and the Durable entity store through the
/// client the host binds, and lists every deployment by name — and nothing of the storage account, keys or upstreams.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class HealthTests(HostFixture fixture)
{
    [HostFact]
    public async Task Liveness_answers_healthy_without_a_key()
    {
        var reply = await fixture.SendAsync(HttpMethod.Get, "health", key: null);

        Assert.Equal(200, reply.Status);
        Assert.Equal("""{"status":"healthy"}""", reply.Text);
        Assert.Equal("no-store", reply.Header("cache-control"));
    }

    [HostFact]
    public async Task Readiness_reaches_storage_and_the_durable_entity_store_and_lists_each_deployment_without_secrets()
    {
        var reply = await fixture.SendAsync(HttpMethod.Get, "health/ready", key: null);

        Assert.Equal(200, reply.Status);
        var body = reply.Json!.AsObject();
        // other tests of the suite may have opened a circuit on this host: that is degraded, still ready
        Assert.Contains((string?)body["status"], new[] { "healthy", "degraded" });
        var checks = body["checks"]!.AsArray().ToDictionary(c => (string)c!["name"]!, c => c!);
        Assert.Equal(["table", "queue", "blob", "durable"], checks.Keys);
        Assert.All(checks.Values, c => Assert.Equal("healthy", (string?)c["status"]));
        Assert.StartsWith("entity store answered", (string?)checks["durable"]["detail"], StringComparison.Ordinal);
        Assert.Equal(["mock", "quota", "upstream"], body["deployments"]!.AsArray().Select(d => (string?)d!["name"]));

        var accountKey = fixture.Storage.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];
        foreach (var hidden in new[] { "devstoreaccount1", accountKey, "sk-upstream-test", HostFixture.AdminKey, fixture.Upstream.BaseUri.Authority, "127.0.0.1", "http" })
            Assert.DoesNotContain(hidden, reply.Text, StringComparison.OrdinalIgnoreCase);
    }
}
