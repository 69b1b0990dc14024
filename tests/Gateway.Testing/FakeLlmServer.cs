using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
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
/// A real HTTP server on 127.0.0.1 that answers as OpenAI (<c>/v1/chat/completions</c>), Azure OpenAI
/// (<c>/openai/deployments/{deployment}/chat/completions?api-version=…</c>) and Anthropic (<c>/v1/messages</c>) do,
/// streaming included, with scripted replies and injectable faults. It records every request it receives.
/// </summary>
public sealed class FakeLlmServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _replies = new();
    private readonly ConcurrentQueue<FakeFault> _faults = new();
    private readonly ConcurrentDictionary<string, FakeFault> _targetedFaults = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Lock _planLock = new();
    private Random? _planRandom;
    private FaultPlan? _faultPlan;
    private int _requestCount;
    private int _abandoned;

    private FakeLlmServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>When set, requests must carry this key (Bearer, api-key or x-api-key as the wire format wants).</summary>
    public string? RequiredApiKey { get; set; }

    /// <summary>The token counts reported for requests with no scripted reply (10 prompt, 5 completion unless set).</summary>
    public (int Prompt, int Completion) DefaultUsage { get; set; } = (10, 5);

    /// <summary>Pause between stream events.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Pause after a stream's status and headers are sent, before its first event (a slow first token).</summary>
    public TimeSpan FirstEventDelay { get; set; }

    /// <summary>When set, a stream stops after its first event until this task completes, so a test can observe
    /// what the client has received while the upstream is still producing.</summary>
    public Task? StreamGate { get; set; }

    /// <summary>How many requests the client abandoned (connection closed) while the server was still answering.</summary>
    public int AbandonedCount => Volatile.Read(ref _abandoned);

    /// <summary>Requests received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>How many requests arrived (including those that were faulted).</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _connections = new();

    /// <summary>The TCP connections requests have arrived on (Kestrel connection ids), since start or <see cref="Reset"/>.</summary>
    public IReadOnlyCollection<string> ConnectionIds => [.. _connections.Keys];

    public FaultPlan? FaultPlan
    {
        get => _faultPlan;
        set
        {
            lock (_planLock)
            {
                _faultPlan = value;
                _planRandom = value is null ? null : new Random(value.Seed);
            }
        }
    }

    public void Enqueue(FakeReply reply) => _replies.Enqueue(reply);

    public void EnqueueFault(FakeFault fault) => _faults.Enqueue(fault);

    /// <summary>
    /// A fault for the first request whose body contains <paramref name="bodyContains"/> (before any queued fault), so a
    /// test sharing the server with other traffic (the end-to-end host) faults its own request and no other.
    /// </summary>
    public void EnqueueFault(FakeFault fault, string bodyContains) => _targetedFaults[bodyContains] = fault;

    /// <summary>Forgets recorded requests, queued replies and faults, the fault plan and the required key.</summary>
    public void Reset()
    {
        _replies.Clear();
        _faults.Clear();
        _targetedFaults.Clear();
        _requests.Clear();
        FaultPlan = null;
        RequiredApiKey = null;
        ChunkDelay = TimeSpan.Zero;
        FirstEventDelay = TimeSpan.Zero;
        StreamGate = null;
        Interlocked.Exchange(ref _abandoned, 0);
        Interlocked.Exchange(ref _requestCount, 0);
        _connections.Clear();
    }

    public static async Task<FakeLlmServer> StartAsync()
    {
        var app = LoopbackApp.Create();
        FakeLlmServer? server = null;
        app.Run(context =>
        {
            server!._connections.TryAdd(context.Connection.Id, 0);
            return server.HandleAsync(context);
        });
        server = new FakeLlmServer(app, await LoopbackApp.StartAsync(app));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private enum Wire { OpenAi, Azure, Anthropic }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(aborted);
        }

        var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        _requests.Enqueue(new RecordedRequest(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", headers, body, DateTimeOffset.UtcNow));
        Interlocked.Increment(ref _requestCount);

        var path = request.Path.Value ?? "";
        Wire wire;
        string? azureDeployment = null;
        if (path == "/v1/chat/completions" || path == "/chat/completions") wire = Wire.OpenAi;
        else if (path == "/v1/messages") wire = Wire.Anthropic;
        else if (path.StartsWith("/openai/deployments/", StringComparison.Ordinal) && path.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            wire = Wire.Azure;
            azureDeployment = path["/openai/deployments/".Length..^"/chat/completions".Length];
            if (string.IsNullOrEmpty(request.Query["api-version"]))
            {
                await WriteError(context, wire, 404, "not_found", "Resource not found (api-version is required)");
                return;
            }
        }
        else
        {
            await WriteError(context, Wire.OpenAi, 404, "not_found", $"Unknown path {path}");
            return;
        }

        if (!request.Method.Equals("POST", StringComparison.OrdinalIgnoreCase))
        {
            await WriteError(context, wire, 405, "invalid_request_error", "Method not allowed");
            return;
        }

        if (!Authorized(wire, headers))
        {
            await WriteError(context, wire, 401, wire == Wire.Anthropic ? "authentication_error" : "invalid_api_key", "Incorrect API key provided");
            return;
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            await WriteError(context, wire, 400, "invalid_request_error", "We could not parse the JSON body of your request.");
            return;
        }

        if (wire == Wire.Anthropic)
        {
            if (!headers.ContainsKey("anthropic-version"))
            {
                await WriteError(context, wire, 400, "invalid_request_error", "anthropic-version: header is required");
                return;
            }

            if (json["max_tokens"] is null)
            {
                await WriteError(context, wire, 400, "invalid_request_error", "max_tokens: Field required");
                return;
            }
        }

        var fault = NextFault(body);
        var reply = _replies.TryDequeue(out var queued) ? queued : DefaultReply(wire, json) with { PromptTokens = DefaultUsage.Prompt, CompletionTokens = DefaultUsage.Completion };
        var model = reply.Model ?? azureDeployment ?? (string?)json["model"] ?? "unknown";
        var stream = json["stream"] is JsonValue s && s.TryGetValue(out bool b) && b;

        switch (fault)
        {
            case RateLimited limited:
                context.Response.Headers["retry-after"] = limited.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                await WriteError(context, wire, 429, wire == Wire.Anthropic ? "rate_limit_error" : "rate_limit_exceeded", "Rate limit reached");
                return;
            case ServerError error:
                await WriteError(context, wire, error.Status, wire == Wire.Anthropic ? "api_error" : "server_error", "The server had an error while processing your request.");
                return;
            case AzureContentFilter:
                context.Response.StatusCode = 400;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(new JsonObject
                {
                    ["error"] = new JsonObject
                    {
                        ["message"] = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                        ["type"] = null, ["param"] = "prompt", ["code"] = "content_filter", ["status"] = 400,
                        ["innererror"] = new JsonObject { ["code"] = "ResponsibleAIPolicyViolation", ["content_filter_result"] = AzureFilterResults(filtered: "violence") },
                    },
                }.ToJsonString());
                return;
            case BadRequest bad:
                await WriteError(context, wire, 400, "invalid_request_error", bad.Message);
                return;
            case ConnectionReset:
                context.Abort();
                return;
            case Hang hang:
                try
                {
                    await Task.Delay(hang.Delay, aborted);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref _abandoned);
                    return;
                }

                break;
        }

        var breakAfter = fault switch { BrokenStream broken => broken.AfterChunks, StreamErrorEvent error => error.AfterChunks, StreamStall stall => stall.AfterChunks, _ => (int?)null };
        try
        {
            if (stream)
            {
                var includeUsage = json["stream_options"]?["include_usage"] is JsonValue iu && iu.TryGetValue(out bool inc) && inc;
                var events = wire == Wire.Anthropic ? AnthropicEvents(reply, model) : OpenAiChunks(reply, model, includeUsage, wire == Wire.Azure);
                await WriteStream(context, events, wire == Wire.Anthropic, breakAfter, fault);
            }
            else
            {
                var payload = (wire == Wire.Anthropic ? AnthropicMessage(reply, model) : OpenAiCompletion(reply, model, wire == Wire.Azure)).ToJsonString();
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                if (breakAfter is not null)
                {
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(payload[..(payload.Length / 2)]), aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    await BreakConnection(context, fault);
                    return;
                }

                await context.Response.WriteAsync(payload, aborted);
            }
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _abandoned);
        }
        catch (IOException) when (aborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abandoned);
        }
    }

    private FakeFault? NextFault(string body)
    {
        foreach (var marker in _targetedFaults.Keys)
            if (body.Contains(marker, StringComparison.Ordinal) && _targetedFaults.TryRemove(marker, out var targeted)) return targeted;
        if (_faults.TryDequeue(out var fault)) return fault;
        lock (_planLock)
        {
            if (_faultPlan is not { } plan || _planRandom is null || plan.Kinds.Count == 0) return null;
            if (_planRandom.NextDouble() >= plan.Rate) return null;
            return plan.Kinds[_planRandom.Next(plan.Kinds.Count)];
        }
    }

    private bool Authorized(Wire wire, Dictionary<string, string> headers)
    {
        if (RequiredApiKey is null) return true;
        return wire switch
        {
            Wire.Anthropic => headers.TryGetValue("x-api-key", out var k) && k == RequiredApiKey,
            Wire.Azure => (headers.TryGetValue("api-key", out var k) && k == RequiredApiKey)
                || (headers.TryGetValue("authorization", out var a) && a == "Bearer " + RequiredApiKey),
            _ => headers.TryGetValue("authorization", out var a) && a == "Bearer " + RequiredApiKey,
        };
    }

    /// <summary>What an instructed continuation starts by repeating of a partial answer at least this long (a model's habit, which the gateway removes); a shorter one is not repeated.</summary>
    public const int InstructedRepeat = 12;

    /// <summary>
    /// The reply, deterministic for a conversation: "echo: " and its last user message. A continuation — the conversation
    /// then the partial answer as the last assistant message (prefill, vLLM's continue_final_message, Mistral's prefix),
    /// or that and a user message asking to go on (instructed) — gets the rest of that same reply, instructed with the
    /// last <see cref="InstructedRepeat"/> characters of the partial answer repeated first.
    /// </summary>
    private static FakeReply DefaultReply(Wire wire, JsonObject json)
    {
        if (json["messages"] is JsonArray all && all.Count >= 2)
        {
            var last = all[^1];
            var instructed = (string?)last?["role"] == "user" && (string?)all[^2]?["role"] == "assistant" && TextOf(last?["content"]).StartsWith("Your previous answer was cut off", StringComparison.Ordinal);
            var partialAt = instructed ? all.Count - 2 : (string?)last?["role"] == "assistant" ? all.Count - 1 : -1;
            if (partialAt > 0)
            {
                var partial = TextOf(all[partialAt]?["content"]);
                var before = json.DeepClone().AsObject();
                var earlier = (JsonArray)before["messages"]!;
                while (earlier.Count > partialAt) earlier.RemoveAt(earlier.Count - 1);
                var whole = DefaultReply(wire, before).Text;
                if (whole.StartsWith(partial, StringComparison.Ordinal))
                    return new FakeReply { Text = instructed && partial.Length >= InstructedRepeat ? whole[(partial.Length - InstructedRepeat)..] : whole[partial.Length..] };
            }
        }

        return FirstReply(wire, json);
    }

    private static string TextOf(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue(out string? text) => text ?? "",
        JsonArray parts => string.Concat(parts.Where(p => (string?)p?["type"] == "text").Select(p => (string?)p!["text"])),
        _ => "",
    };

    private static FakeReply FirstReply(Wire wire, JsonObject json)
    {
        string? lastUser = null;
        if (json["messages"] is JsonArray messages)
        {
            foreach (var m in messages)
            {
                if ((string?)m?["role"] != "user") continue;
                lastUser = m!["content"] switch
                {
                    JsonValue v when v.TryGetValue(out string? text) => text,
                    JsonArray parts => string.Concat(parts.Where(p => (string?)p?["type"] == "text").Select(p => (string?)p!["text"])),
                    _ => lastUser,
                };
            }
        }

        _ = wire;
        return new FakeReply { Text = "echo: " + (lastUser ?? "") };
    }

    private static async Task WriteError(HttpContext context, Wire wire, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        JsonObject body = wire == Wire.Anthropic
            ? new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message } }
            : new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = type } };
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private async Task WriteStream(HttpContext context, IEnumerable<(string? Event, JsonObject Data)> events, bool named, int? breakAfter, FakeFault? fault = null)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(aborted);
        var written = 0;
        foreach (var (name, data) in events)
        {
            if (breakAfter is { } limit && written == limit)
            {
                switch (fault)
                {
                    case StreamErrorEvent:
                        // the provider's own error event mid-stream, then the end of the response
                        var error = named
                            ? "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
                            : "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
                        await response.WriteAsync(error, aborted);
                        await response.Body.FlushAsync(aborted);
                        return;
                    case StreamStall stall:
                        await Task.Delay(stall.For, aborted);
                        break;
                    default:
                        await BreakConnection(context, fault);
                        return;
                }
            }

            if (written == 0 && FirstEventDelay > TimeSpan.Zero) await Task.Delay(FirstEventDelay, aborted);
            if (written > 0 && ChunkDelay > TimeSpan.Zero) await Task.Delay(ChunkDelay, aborted);
            if (written == 1 && StreamGate is { } gate) await gate.WaitAsync(aborted);
            var text = (named && name is not null ? $"event: {name}\n" : "") + "data: " + data.ToJsonString() + "\n\n";
            await response.WriteAsync(text, aborted);
            await response.Body.FlushAsync(aborted);
            written++;
        }

        if (breakAfter is not null && fault is BrokenStream or null)
        {
            await BreakConnection(context, fault);
            return;
        }

        if (!named)
        {
            await response.WriteAsync("data: [DONE]\n\n", aborted);
            await response.Body.FlushAsync(aborted);
        }
    }

    /// <summary>Resets the connection mid-response. The pause first lets the client read what was already sent: a
    /// reset makes the client's kernel drop data it has received but not yet handed to the reader.</summary>
    private static async Task BreakConnection(HttpContext context, FakeFault? fault = null)
    {
        await Task.Delay((fault as BrokenStream)?.Pause ?? TimeSpan.FromMilliseconds(200), CancellationToken.None);
        context.Abort();
    }

    /// <summary>Splits text into word-sized pieces that concatenate back to it ("one", " two", " three").</summary>
    public static IReadOnlyList<string> Pieces(string text)
    {
        var pieces = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ' ' && text[i - 1] != ' '))
            {
                pieces.Add(text[start..i]);
                start = i;
            }
        }

        return pieces;
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // ---- OpenAI / Azure OpenAI ----

    private static JsonObject OpenAiUsage(FakeReply r) => new()
    {
        ["prompt_tokens"] = r.PromptTokens,
        ["completion_tokens"] = r.CompletionTokens,
        ["total_tokens"] = r.PromptTokens + r.CompletionTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = r.CachedPromptTokens, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = r.ReasoningTokens, ["audio_tokens"] = 0 },
    };

    /// <summary>Azure OpenAI's per-category annotations (hate, self_harm, sexual, violence), one category filtered or none.</summary>
    public static JsonObject AzureFilterResults(string? filtered = null) => new(new[] { "hate", "self_harm", "sexual", "violence" }.Select(c =>
        KeyValuePair.Create(c, (JsonNode?)new JsonObject { ["filtered"] = c == filtered, ["severity"] = c == filtered ? "high" : "safe" })));

    private static JsonArray AzurePromptFilterResults() =>
        new(new JsonObject { ["prompt_index"] = 0, ["content_filter_results"] = AzureFilterResults() });

    private static JsonObject OpenAiCompletion(FakeReply r, string model, bool azure = false)
    {
        var completion = OpenAiCompletionBody(r, model);
        if (azure)
        {
            completion["prompt_filter_results"] = AzurePromptFilterResults();
            completion["choices"]![0]!["content_filter_results"] = AzureFilterResults(r.EffectiveFinishReason == "content_filter" ? "violence" : null);
        }

        return completion;
    }

    private static JsonObject OpenAiCompletionBody(FakeReply r, string model)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = r.Text.Length == 0 && r.ToolCalls.Count > 0 ? null : r.Text };
        if (r.ToolCalls.Count > 0)
        {
            message["tool_calls"] = new JsonArray([.. r.ToolCalls.Select(t => (JsonNode)new JsonObject
            {
                ["id"] = t.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = t.Name, ["arguments"] = t.ArgumentsJson },
            })]);
        }

        return new JsonObject
        {
            ["id"] = "chatcmpl-fake" + Guid.NewGuid().ToString("N")[..12],
            ["object"] = "chat.completion",
            ["created"] = Now,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = r.EffectiveFinishReason }),
            ["usage"] = OpenAiUsage(r),
            ["system_fingerprint"] = "fp_fake",
        };
    }

    private static IEnumerable<(string?, JsonObject)> OpenAiChunks(FakeReply r, string model, bool includeUsage, bool azure = false)
    {
        var id = "chatcmpl-fake" + Guid.NewGuid().ToString("N")[..12];
        var created = Now;
        JsonObject Chunk(JsonObject delta, string? finish)
        {
            var choice = new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish };
            // Azure annotates every content chunk with its filter's results
            if (azure && (delta.Count > 0 || finish == "content_filter")) choice["content_filter_results"] = AzureFilterResults(finish == "content_filter" ? "violence" : null);
            return new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(choice),
            };
        }

        // Azure's first event: the prompt's filter results, with no choices, no id and no model
        if (azure)
        {
            yield return (null, new JsonObject
            {
                ["choices"] = new JsonArray(), ["created"] = 0, ["id"] = "", ["model"] = "", ["object"] = "",
                ["prompt_filter_results"] = AzurePromptFilterResults(),
            });
        }

        yield return (null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        foreach (var piece in r.ChunkChars is { } size ? r.Text.Chunk(size).Select(c => new string(c)) : Pieces(r.Text))
            yield return (null, Chunk(new JsonObject { ["content"] = piece }, null));
        for (var i = 0; i < r.ToolCalls.Count; i++)
        {
            var call = r.ToolCalls[i];
            yield return (null, Chunk(new JsonObject
            {
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = i,
                    ["id"] = call.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = "" },
                }),
            }, null));
            foreach (var part in ArgumentPieces(call.ArgumentsJson))
            {
                yield return (null, Chunk(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = part } }),
                }, null));
            }
        }

        yield return (null, Chunk(new JsonObject(), r.EffectiveFinishReason));
        if (includeUsage)
        {
            yield return (null, new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(),
                ["usage"] = OpenAiUsage(r),
            });
        }
    }

    private static IEnumerable<string> ArgumentPieces(string json)
    {
        for (var i = 0; i < json.Length; i += 8) yield return json.Substring(i, Math.Min(8, json.Length - i));
    }

    // ---- Anthropic Messages ----

    private static string AnthropicStopReason(string finish) => finish switch
    {
        "length" => "max_tokens",
        "tool_calls" => "tool_use",
        "content_filter" => "refusal",
        "stop_sequence" => "stop_sequence",
        _ => "end_turn",
    };

    private static JsonObject AnthropicUsage(FakeReply r, bool includeOutput = true)
    {
        var usage = new JsonObject
        {
            ["input_tokens"] = r.PromptTokens - r.CachedPromptTokens - r.CacheWriteTokens,
            ["cache_creation_input_tokens"] = r.CacheWriteTokens,
            ["cache_read_input_tokens"] = r.CachedPromptTokens,
        };
        usage["output_tokens"] = includeOutput ? r.CompletionTokens : 1;
        return usage;
    }

    private static JsonObject AnthropicMessage(FakeReply r, string model)
    {
        var content = new JsonArray();
        if (r.Text.Length > 0) content.Add(new JsonObject { ["type"] = "text", ["text"] = r.Text });
        foreach (var call in r.ToolCalls)
        {
            content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = JsonNode.Parse(call.ArgumentsJson) });
        }

        return new JsonObject
        {
            ["id"] = "msg_fake" + Guid.NewGuid().ToString("N")[..12],
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model,
            ["content"] = content,
            ["stop_reason"] = AnthropicStopReason(r.EffectiveFinishReason),
            ["stop_sequence"] = null,
            ["usage"] = AnthropicUsage(r),
        };
    }

    private static IEnumerable<(string?, JsonObject)> AnthropicEvents(FakeReply r, string model)
    {
        yield return ("message_start", new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = "msg_fake" + Guid.NewGuid().ToString("N")[..12],
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = model,
                ["content"] = new JsonArray(),
                ["stop_reason"] = null,
                ["stop_sequence"] = null,
                ["usage"] = AnthropicUsage(r, includeOutput: false),
            },
        });
        yield return ("ping", new JsonObject { ["type"] = "ping" });
        var index = 0;
        if (r.Text.Length > 0)
        {
            yield return ("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
            foreach (var piece in Pieces(r.Text))
            {
                yield return ("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece } });
            }

            yield return ("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
            index++;
        }

        foreach (var call in r.ToolCalls)
        {
            yield return ("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start",
                ["index"] = index,
                ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = new JsonObject() },
            });
            foreach (var part in ArgumentPieces(call.ArgumentsJson))
            {
                yield return ("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = part } });
            }

            yield return ("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
            index++;
        }

        yield return ("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = AnthropicStopReason(r.EffectiveFinishReason), ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = r.CompletionTokens },
        });
        yield return ("message_stop", new JsonObject { ["type"] = "message_stop" });
    }
}
