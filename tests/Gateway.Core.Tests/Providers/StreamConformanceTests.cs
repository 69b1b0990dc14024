using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Usage;
using Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Tests.Providers;

/// <summary>
/// Recorded provider streams — OpenAI with tool-call deltas, Azure OpenAI with its content-filter annotations and an
/// empty first chunk, Anthropic with pings and tool input deltas — replayed verbatim by a loopback server: every one
/// reaches the client in the same format, with the same text, tool call, finish reason and usage. Error events and a
/// malformed chunk end the stream with an error event.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class StreamConformanceTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _base = null!;
    private string _file = "";

    public async Task InitializeAsync()
    {
        _app = LoopbackApp.Create();
        _app.Run(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Providers", "Recorded", _file)));
        });
        _base = await LoopbackApp.StartAsync(_app);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<(SentRequest Sent, UsageRecord Record)> Replay(string file, string provider)
    {
        _file = file;
        var deployment = provider switch
        {
            "anthropic" => new DeploymentOptions { Name = "d", Provider = provider, Model = "claude-sonnet-4-5", Endpoint = _base.ToString(), ApiKeySetting = "K" },
            "azure-openai" => new DeploymentOptions { Name = "d", Provider = provider, Model = "gpt-4o", Endpoint = _base.ToString(), ApiKeySetting = "K", ApiVersion = "2024-10-21", Pricing = new DeploymentPricingOptions { PriceAs = "gpt-4o" } },
            _ => new DeploymentOptions { Name = "d", Provider = provider, Model = "gpt-4o", Endpoint = _base + "v1", ApiKeySetting = "K" },
        };
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [deployment], Models = [new ModelOptions { Name = "m", Deployments = ["d"] }] },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 1, MaxStreamRecoveries = 0 },
        };
        var usage = new InMemoryUsageSink();
        using var http = new HttpClient();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => http, TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key),
            """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"weather in Oslo?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}""");
        return (sent, Assert.Single(usage.Records));
    }

    [Theory]
    [InlineData("openai-tools.sse", "openai")]
    [InlineData("azure-filtered.sse", "azure-openai")]
    [InlineData("anthropic-tools.sse", "anthropic")]
    public async Task Every_provider_s_stream_reaches_the_client_in_one_format(string file, string provider)
    {
        var (sent, record) = await Replay(file, provider);

        Assert.Null(sent.StreamError);
        var events = sent.Events();
        // one id, model and created on every chunk (Azure's first, empty one included), the role once
        Assert.Single(events.Select(e => (string?)e["id"]).Distinct());
        Assert.DoesNotContain(events, e => string.IsNullOrEmpty((string?)e["id"]) || string.IsNullOrEmpty((string?)e["model"]));
        Assert.All(events, e => Assert.Equal("chat.completion.chunk", (string?)e["object"]));
        Assert.Single(events, e => e["choices"] is JsonArray { Count: > 0 } c && c[0]?["delta"]?["role"] is not null);
        Assert.Equal("Looking it up.", sent.StreamedContent());
        var call = events.SelectMany(e => (e["choices"] as JsonArray ?? []).SelectMany(c => c?["delta"]?["tool_calls"] as JsonArray ?? [])).ToList();
        Assert.Equal("get_weather", call.Select(c => (string?)c?["function"]?["name"]).Single(n => n is not null));
        Assert.Equal("""{"city":"Oslo"}""", JsonNode.Parse(string.Concat(call.Select(c => (string?)c?["function"]?["arguments"])))!.ToJsonString());
        Assert.Equal("tool_calls", events.SelectMany(e => e["choices"] as JsonArray ?? []).Select(c => (string?)c?["finish_reason"]).Single(f => f is not null));
        var usageChunk = Assert.Single(events, e => e["usage"] is JsonObject);
        Assert.Equal((82, 17), ((int)usageChunk["usage"]!["prompt_tokens"]!, (int)usageChunk["usage"]!["completion_tokens"]!));
        Assert.EndsWith("data: [DONE]\n\n", sent.Text, StringComparison.Ordinal);
        Assert.Equal((82L, 17L, false), (record.PromptTokens, record.CompletionTokens, record.CostEstimated));
        if (provider == "azure-openai")
        {
            // Azure's filter annotations pass through: on the first chunk and on each content chunk
            Assert.NotNull(events[0]["prompt_filter_results"]);
            Assert.Contains(events, e => e["choices"] is JsonArray { Count: > 0 } c && c[0]?["content_filter_results"]?["hate"] is not null);
        }
    }

    [Theory]
    [InlineData("anthropic-error.sse", "anthropic", "upstream_error")]
    [InlineData("openai-malformed.sse", "openai", "upstream_protocol_error")]
    public async Task An_error_event_or_a_malformed_chunk_ends_the_stream_with_an_error_event(string file, string provider, string code)
    {
        var (sent, record) = await Replay(file, provider);

        Assert.Equal(code, sent.StreamError?.Code);
        Assert.Equal("Looking", sent.StreamedContent());
        Assert.DoesNotContain("[DONE]", sent.Text, StringComparison.Ordinal);
        Assert.Equal(UsageOutcomes.StreamBroken, record.Outcome);
    }
}
