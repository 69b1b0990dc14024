// A loopback OpenAI-wire upstream for the host benchmarks: answers every chat completion at once with a fixed,
// small completion (usage included), so what is measured is the function apps in front of it, not a model.
//   dotnet Gateway.Bench.Upstream.dll PORT
using System.Text;

var port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 0;
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.ClearProviders();
var app = builder.Build();
var completion = Encoding.UTF8.GetBytes("""
{"id":"chatcmpl-bench","object":"chat.completion","created":1764547200,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":10,"total_tokens":22}}
""".Trim());
app.MapPost("/v1/chat/completions", async (HttpContext context) =>
{
    // read the request as a real server would
    await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = completion.Length;
    await context.Response.Body.WriteAsync(completion, context.RequestAborted);
});
app.MapGet("/health", () => "ok");
await app.RunAsync();
