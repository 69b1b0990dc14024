using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Storage;
using Gateway.Testing;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// Feature flags set as app settings on the real host: a second host, with the suite's settings plus
/// <c>FeatureManagement__Cache=false</c> and <c>FeatureManagement__Budgets=false</c>, on an Azurite of its own and the
/// suite's loopback upstream. The same requests on the suite's host (every flag on) show what the flags took away.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class FeatureFlagTests(HostFixture fixture)
{
    private LocalServerProcess? _azurite;
    private HostProcess? _host;
    private HttpClient? _http;
    private string _key = "";

    private async Task StartAsync()
    {
        string storage;
        (_azurite, storage) = await AzuriteFixture.StartOwnAsync();
        _key = KeyHasher.NewKey();
        await new TableKeyStore(StorageConnection.FromConnectionString(storage).Table("gatewaykeys")).AddAsync(new GatewayKeyRecord("key_e2eflags", KeyHasher.Hash(_key),
            KeyHasher.DisplayPrefix(_key), "e2e flags", "user-flags", "team-flags", [], new Dictionary<string, string>(), DateTimeOffset.UtcNow), default);

        var settings = new Dictionary<string, string>(fixture.Settings, StringComparer.Ordinal)
        {
            ["AzureWebJobsStorage"] = storage,
            ["FeatureManagement__Cache"] = "false",
            ["FeatureManagement__Budgets"] = "false",
        };
        _host = await HostProcess.StartAsync(settings, async http =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
            using var response = await http.SendAsync(request);
            return response.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromMinutes(3));
        _http = new HttpClient { BaseAddress = _host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    private async Task StopAsync()
    {
        _http?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        _azurite?.Dispose();
    }

    private async Task<Reply> SendAsync(HttpMethod method, string path, string key, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http!.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value), StringComparer.Ordinal);
        return new Reply((int)response.StatusCode, text, headers, TimeSpan.Zero);
    }

    /// <summary>One host with the flags off for both checks (a host takes a while to start).</summary>
    [HostFact]
    public async Task Flags_set_as_app_settings_take_the_cache_and_budgets_away_on_the_real_host()
    {
        await StartAsync();
        try
        {
            await CacheIsOff();
            await BudgetsAreOff();
        }
        finally
        {
            await StopAsync();
        }
    }

    private async Task CacheIsOff()
    {
        var json = $$"""{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"flags {{Guid.NewGuid():N}}"}]}""";

        // every flag on (the suite's host): the second identical request is a hit and never reaches the upstream
        var before = fixture.Upstream.RequestCount;
        Assert.Equal("miss", (await fixture.ChatAsync(fixture.Keys["main"].Key, json)).Header("x-gateway-cache"));
        Assert.Equal("hit", (await fixture.ChatAsync(fixture.Keys["main"].Key, json)).Header("x-gateway-cache"));
        Assert.Equal(before + 1, fixture.Upstream.RequestCount);

        // FeatureManagement__Cache=false: both go upstream, and the response says nothing about a cache
        before = fixture.Upstream.RequestCount;
        var first = await SendAsync(HttpMethod.Post, "v1/chat/completions", _key, json);
        var second = await SendAsync(HttpMethod.Post, "v1/chat/completions", _key, json);
        Assert.Equal((200, 200), (first.Status, second.Status));
        Assert.Equal(before + 2, fixture.Upstream.RequestCount);
        Assert.Null(first.Header("x-gateway-cache"));
        Assert.Null(second.Header("x-gateway-cache"));
        Assert.NotNull(second.Header("x-request-id"));
    }

    private async Task BudgetsAreOff()
    {
        Assert.Equal(200, (await fixture.AdminAsync(HttpMethod.Get, "gateway/budgets")).Status);

        var list = await SendAsync(HttpMethod.Get, "gateway/budgets", HostFixture.AdminKey);
        Assert.Equal(404, list.Status);
        Assert.Equal("feature_disabled", list.ErrorCode);
        Assert.Contains("FeatureManagement:Budgets", (string?)list.Json!["error"]!["message"], StringComparison.Ordinal);
        var put = await SendAsync(HttpMethod.Put, "gateway/budgets/team:team-flags", HostFixture.AdminKey, """{"limit_usd":5}""");
        Assert.Equal((404, "feature_disabled"), (put.Status, put.ErrorCode));
        // a gateway key is not the admin key: still 401, whatever the flag
        Assert.Equal(401, (await SendAsync(HttpMethod.Get, "gateway/budgets", _key)).Status);

        var ready = await SendAsync(HttpMethod.Get, "health/ready", _key);
        var features = ready.Json!["features"]!.AsObject();
        Assert.Equal(["Cache", "Coalescing", "Budgets", "RateLimits", "ProviderQuotas", "Safety", "Audit", "Analytics"], features.Select(f => f.Key));
        Assert.All(features, f => Assert.Equal(f.Key is not ("Cache" or "Budgets"), (bool)f.Value!));
        var all = (await fixture.SendAsync(HttpMethod.Get, "health/ready", key: null)).Json!["features"]!.AsObject();
        Assert.All(all, f => Assert.True((bool)f.Value!));
    }
}
