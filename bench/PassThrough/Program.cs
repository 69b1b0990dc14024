using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Gateway.Bench.PassThrough;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddHttpClient("upstream", c => c.BaseAddress = new Uri(Environment.GetEnvironmentVariable("BENCH_UPSTREAM_URL") ?? "http://127.0.0.1:9/"));
// with the gateway's output bound set (Gateway__StreamBufferBytes), the floor holds the same for a slow reader and reads
// its upstream in 1 KiB pieces as the gateway's reader does: the memory floor a slow stream costs the platform itself
if (Forward.OutputBound is { } bound)
{
    builder.Services.Configure<SocketTransportOptions>(sockets => sockets.MaxWriteBufferSize = bound);
    builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxResponseBufferSize = bound);
}

builder.Build().Run();

namespace Gateway.Bench.PassThrough
{
    /// <summary>
    /// <c>POST /v1/chat/completions</c>: the body to the upstream, its answer back — streamed as it comes, flushed per
    /// read, for server-sent events. The floor the gateway is measured against.
    /// </summary>
    public sealed class Forward(IHttpClientFactory clients)
    {
        public static readonly int? OutputBound =
            int.TryParse(Environment.GetEnvironmentVariable("Gateway__StreamBufferBytes"), System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : null;

        [Function("Forward")]
        public async Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request)
        {
            using var content = new StreamContent(request.Body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var message = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
            using var upstream = await clients.CreateClient("upstream").SendAsync(message, HttpCompletionOption.ResponseHeadersRead, request.HttpContext.RequestAborted);
            var response = request.HttpContext.Response;
            response.StatusCode = (int)upstream.StatusCode;
            response.ContentType = upstream.Content.Headers.ContentType?.ToString() ?? "application/json";
            request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            await using var body = await upstream.Content.ReadAsStreamAsync(request.HttpContext.RequestAborted);
            var buffer = new byte[OutputBound is null ? 16 * 1024 : 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
            {
                await response.Body.WriteAsync(buffer.AsMemory(0, read), request.HttpContext.RequestAborted);
                await response.Body.FlushAsync(request.HttpContext.RequestAborted);
            }

            return new EmptyResult();
        }
    }
}
