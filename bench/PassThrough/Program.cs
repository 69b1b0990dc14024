using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddHttpClient("upstream", c => c.BaseAddress = new Uri(Environment.GetEnvironmentVariable("BENCH_UPSTREAM_URL") ?? "http://127.0.0.1:9/"));
builder.Build().Run();

namespace Gateway.Bench.PassThrough
{
    /// <summary><c>POST /v1/chat/completions</c>: the body to the upstream, its answer back. The floor the gateway is measured against.</summary>
    public sealed class Forward(IHttpClientFactory clients)
    {
        [Function("Forward")]
        public async Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request)
        {
            using var content = new StreamContent(request.Body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var upstream = await clients.CreateClient("upstream").PostAsync("v1/chat/completions", content, request.HttpContext.RequestAborted);
            var response = request.HttpContext.Response;
            response.StatusCode = (int)upstream.StatusCode;
            response.ContentType = "application/json";
            await upstream.Content.CopyToAsync(response.Body, request.HttpContext.RequestAborted);
            return new EmptyResult();
        }
    }
}
