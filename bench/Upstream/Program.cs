// A loopback OpenAI-wire upstream for the host benchmarks: answers every chat completion at once with a fixed,
// small completion (usage included), so what is measured is the function apps in front of it, not a model. A request with
// "stream": true is answered as server-sent events: ten chunks, the first at once, then one every 5 ms, and usage; with
// "max_tokens" of 1,000 or more as max_tokens / 5 chunks of one word each (100000: 20,000 chunks, ~3 MB) as fast as the
// reader takes them (for slow-reader memory): the words of PROSE (a text file, in order, from the start again at its end;
// the gateway's README in the host benchmark), so what a stream keeps of its text is what real prose costs, not a word
// repeated (which compresses to nothing); without PROSE, "word" each time.
//   dotnet Gateway.Bench.Upstream.dll PORT [PROSE]
using System.Text;
using System.Text.Encodings.Web;

var port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 0;
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.ClearProviders();
var app = builder.Build();
// each word of the prose as a JSON string's inside, escaped once here
string[] words = args.Length > 1
    ? File.ReadAllText(args[1]).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
        .Select(w => JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(w)).ToArray()
    : ["word"];
var completion = Encoding.UTF8.GetBytes("""
{"id":"chatcmpl-bench","object":"chat.completion","created":1764547200,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":10,"total_tokens":22}}
""".Trim());
string Chunk(string delta, string finish) =>
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764547200,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + finish + "}]}\n\n";
app.MapPost("/v1/chat/completions", async (HttpContext context) =>
{
    // read the request as a real server would
    var body = new MemoryStream();
    await context.Request.Body.CopyToAsync(body, context.RequestAborted);
    if (Encoding.UTF8.GetString(body.ToArray()).Contains("\"stream\":true", StringComparison.Ordinal))
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.StartAsync(context.RequestAborted);
        var maxTokens = 0;
        using (var request = System.Text.Json.JsonDocument.Parse(body.ToArray()))
        {
            if (request.RootElement.TryGetProperty("max_tokens", out var cap) || request.RootElement.TryGetProperty("max_completion_tokens", out cap))
                maxTokens = cap.GetInt32();
        }

        if (maxTokens >= 1000)
        {
            for (var i = 0; i < maxTokens / 5; i++)
            {
                var word = words[i % words.Length];
                await context.Response.WriteAsync(Chunk(i == 0 ? "{\"role\":\"assistant\",\"content\":\"" + word + "\"}" : "{\"content\":\" " + word + "\"}", "null"), context.RequestAborted);
                if (i % 50 == 0) await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            await context.Response.WriteAsync(Chunk("{}", "\"stop\"") + "data: [DONE]\n\n", context.RequestAborted);
            return;
        }

        var fox = "The quick brown fox jumps over the lazy dog again".Split(' ');
        for (var i = 0; i < fox.Length; i++)
        {
            var delta = i == 0 ? "{\"role\":\"assistant\",\"content\":\"" + fox[i] + "\"}" : "{\"content\":\" " + fox[i] + "\"}";
            await context.Response.WriteAsync(Chunk(delta, "null"), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(5, context.RequestAborted);
        }

        await context.Response.WriteAsync(Chunk("{}", "\"stop\""), context.RequestAborted);
        await context.Response.WriteAsync("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764547200,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":10,\"total_tokens\":22}}\n\ndata: [DONE]\n\n", context.RequestAborted);
        return;
    }

    context.Response.ContentType = "application/json";
    context.Response.ContentLength = completion.Length;
    await context.Response.Body.WriteAsync(completion, context.RequestAborted);
});
app.MapGet("/health", () => "ok");
await app.RunAsync();
