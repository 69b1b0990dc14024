using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Testing;

/// <summary>
/// A local server speaking Azure AI Content Safety's wire format (<c>text:analyze</c>, <c>text:shieldPrompt</c>, <c>text:detectProtectedMaterial</c>):
/// a text containing a category's name in capitals (HATE, SEXUAL, VIOLENCE, SELFHARM) gets severity 4 in it, a user
/// prompt or document containing "ATTACK" is an attack, and the word "forbidden" hits the blocklist "words". Faults:
/// a delay, or a status code to answer with.
/// </summary>
public sealed class FakeContentSafetyServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeContentSafetyServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public TimeSpan Delay { get; set; }

    public int? Status { get; set; }

    /// <summary>Each request: its path and its key header (null when none), and the length of its text.</summary>
    public ConcurrentQueue<(string Path, string? Key, int TextLength)> Requests { get; } = new();

    public static async Task<FakeContentSafetyServer> StartAsync()
    {
        var app = LoopbackApp.Create();
        FakeContentSafetyServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        server = new FakeContentSafetyServer(app, await LoopbackApp.StartAsync(app));
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body) as JsonObject ?? [];
        var path = context.Request.Path.Value ?? "";
        var text = (string?)body["text"] ?? (string?)body["userPrompt"] ?? "";
        Requests.Enqueue((path, context.Request.Headers["Ocp-Apim-Subscription-Key"].FirstOrDefault(), text.Length));
        if (Delay > TimeSpan.Zero) await Task.Delay(Delay, context.RequestAborted);
        if (Status is { } status)
        {
            context.Response.StatusCode = status;
            if (status == 429) context.Response.Headers.RetryAfter = "3";
            await context.Response.WriteAsync("""{"error":{"code":"Throttled","message":"slow down"}}""");
            return;
        }

        JsonObject answer;
        if (path.EndsWith("text:analyze", StringComparison.Ordinal))
        {
            answer = new JsonObject
            {
                ["categoriesAnalysis"] = new JsonArray([.. new[] { "Hate", "Sexual", "Violence", "SelfHarm" }.Select(c => (JsonNode)new JsonObject
                {
                    ["category"] = c, ["severity"] = text.Contains(c.ToUpperInvariant(), StringComparison.Ordinal) ? 4 : 0,
                })]),
                ["blocklistsMatch"] = text.Contains("forbidden", StringComparison.Ordinal) && body["blocklistNames"] is JsonArray
                    ? new JsonArray(new JsonObject { ["blocklistName"] = "words", ["blocklistItemId"] = "1", ["blocklistItemText"] = "forbidden" })
                    : new JsonArray(),
            };
        }
        else if (path.EndsWith("text:shieldPrompt", StringComparison.Ordinal))
        {
            answer = new JsonObject
            {
                ["userPromptAnalysis"] = new JsonObject { ["attackDetected"] = text.Contains("ATTACK", StringComparison.Ordinal) },
                ["documentsAnalysis"] = new JsonArray([.. (body["documents"] as JsonArray ?? []).Select(d => (JsonNode)new JsonObject { ["attackDetected"] = ((string?)d ?? "").Contains("ATTACK", StringComparison.Ordinal) })]),
            };
        }
        else if (path.EndsWith("text:detectProtectedMaterial", StringComparison.Ordinal))
        {
            if (text.Length is < 110 or > 1000)
            {
                // the service's own limits for this check
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"error":{"code":"InvalidRequestBody","message":"text length out of range"}}""");
                return;
            }

            answer = new JsonObject { ["protectedMaterialAnalysis"] = new JsonObject { ["detected"] = text.Contains("LYRICS", StringComparison.Ordinal) } };
        }
        else
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
