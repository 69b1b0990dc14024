using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions.Tests.Infrastructure;

/// <summary>
/// Serves the real function classes over Kestrel on 127.0.0.1, with the routes the Functions host
/// would give them, so real HTTP clients (the OpenAI SDK) can talk to the gateway. The Functions host
/// itself cannot run here; this stands in for its HTTP front door only.
/// </summary>
public sealed class GatewayTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayTestServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public static async Task<GatewayTestServer> StartAsync(TestGateway gateway)
    {
        var app = Gateway.Testing.LoopbackApp.Create();
        app.MapPost("/v1/chat/completions", async (HttpContext c) => { await gateway.Chat.Run(c.Request); });
        app.MapGet("/v1/models", async (HttpContext c) => { await gateway.Models.List(c.Request); });
        app.MapGet("/v1/models/{**id}", async (HttpContext c, string id) => { await gateway.Models.Get(c.Request, id); });
        app.MapPost("/gateway/keys", async (HttpContext c) => { await gateway.Admin.Create(c.Request); });
        app.MapGet("/gateway/keys", async (HttpContext c) => { await gateway.Admin.List(c.Request); });
        app.MapDelete("/gateway/keys/{id}", async (HttpContext c, string id) => { await gateway.Admin.Revoke(c.Request, id); });
        return new GatewayTestServer(app, await Gateway.Testing.LoopbackApp.StartAsync(app));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
