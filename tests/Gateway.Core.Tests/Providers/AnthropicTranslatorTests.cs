using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Testing;

namespace Gateway.Core.Tests.Providers;

/// <summary>
/// The Anthropic translation in isolation. ProviderWireTests already covers, against a fake server, a
/// system string, max_tokens, a single stop string, user metadata, a text reply with cache usage and a
/// streamed text + tool call; these tests cover the rest of the mapping.
/// </summary>
public sealed class AnthropicTranslatorTests
{
    private static readonly DeploymentOptions Claude = new() { Name = "claude", Provider = ProviderKind.Anthropic, Model = "claude-sonnet-4-5", DefaultMaxTokens = 4096 };

    private static ChatRequest Parse(string json) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));

    private static JsonObject Translate(string json, bool stream = false) => AnthropicTranslator.ToAnthropic(Parse(json), Claude, stream);

    private static string Req(string messages, string extra = "") => $$"""{"model":"claude","messages":{{messages}}{{extra}}}""";

    private const string Hi = """[{"role":"user","content":"hi"}]""";

    private static GatewayError Refuse(string json) => Assert.Throws<GatewayException>(() => Translate(json)).Error;

    private static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}\nactual   {actual?.ToJsonString()}");

    // ---- request: basics ----

    [Fact]
    public void A_minimal_request_gets_the_deployment_model_and_default_max_tokens()
    {
        AssertJson("""{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}""", Translate(Req(Hi)));
    }

    [Fact]
    public void Max_completion_tokens_wins_over_max_tokens_and_the_default()
    {
        Assert.Equal(50, (int)Translate(Req(Hi, ""","max_tokens":10,"max_completion_tokens":50"""))["max_tokens"]!);
        Assert.Equal(10, (int)Translate(Req(Hi, ""","max_tokens":10"""))["max_tokens"]!);
        var small = new DeploymentOptions { Name = "c", Provider = "anthropic", Model = "m", DefaultMaxTokens = 256 };
        Assert.Equal(256, (int)AnthropicTranslator.ToAnthropic(Parse(Req(Hi)), small, false)["max_tokens"]!);
    }

    [Fact]
    public void Sampling_parameters_stop_sequences_and_stream_are_mapped()
    {
        var body = Translate(Req(Hi, ""","temperature":0.5,"top_p":0.9,"stop":["###","END"],"seed":1,"presence_penalty":1"""), stream: true);
        Assert.Equal(0.5, (double)body["temperature"]!);
        Assert.Equal(0.9, (double)body["top_p"]!);
        AssertJson("""["###","END"]""", body["stop_sequences"]);
        Assert.True((bool)body["stream"]!);
        Assert.False(body.ContainsKey("seed"));
        Assert.False(body.ContainsKey("presence_penalty"));
        Assert.False(Translate(Req(Hi)).ContainsKey("stream"));
        Assert.False(Translate(Req(Hi)).ContainsKey("stop_sequences"));
        Assert.False(Translate(Req(Hi)).ContainsKey("temperature"));
    }

    [Fact]
    public void The_client_body_is_not_modified()
    {
        var request = Parse(Req(Hi, ""","temperature":0.5"""));
        var before = request.Body.ToJsonString();
        AnthropicTranslator.ToAnthropic(request, Claude, true);
        Assert.Equal(before, request.Body.ToJsonString());
    }

    // ---- request: system prompts ----

    [Fact]
    public void System_and_developer_messages_become_system_blocks_in_order()
    {
        var body = Translate(Req("""
            [{"role":"system","content":"be brief"},
             {"role":"developer","content":[{"type":"text","text":"part one"},{"type":"text","text":"part two"}]},
             {"role":"user","content":"hi"},
             {"role":"system","content":""},
             {"role":"system","content":"late rule"}]
            """));
        AssertJson("""[{"type":"text","text":"be brief"},{"type":"text","text":"part one"},{"type":"text","text":"part two"},{"type":"text","text":"late rule"}]""", body["system"]);
        AssertJson("""[{"role":"user","content":[{"type":"text","text":"hi"}]}]""", body["messages"]);
    }

    [Fact]
    public void Only_system_messages_is_a_400()
    {
        var error = Refuse(Req("""[{"role":"system","content":"rules"}]"""));
        Assert.Equal((400, "messages", "invalid_request_error"), (error.Status, error.Param, error.Type));
        Assert.Equal("Anthropic models need at least one user or assistant message besides system messages.", error.Message);
    }

    // ---- request: content parts and images ----

    [Fact]
    public void Text_and_image_parts_become_blocks()
    {
        var body = Translate(Req("""
            [{"role":"user","content":[
              {"type":"text","text":"what is this?"},
              {"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}},
              {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}}]}]
            """));
        AssertJson("""
            [{"role":"user","content":[
              {"type":"text","text":"what is this?"},
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}},
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}}]}]
            """, body["messages"]);
    }

    [Theory]
    [InlineData("data:image/png,rawbytes")]
    [InlineData("data:image/png;base64")]
    public void A_data_url_that_is_not_base64_is_a_400_naming_the_part(string url)
    {
        var error = Refuse(Req($$$"""[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"{{{url}}}"}}]}]"""));
        Assert.Equal((400, "messages[0].content[1].image_url.url", "invalid_value"), (error.Status, error.Param, error.Code));
        Assert.Equal("Image data URLs must be base64 encoded (data:image/png;base64,...).", error.Message);
    }

    [Theory]
    [InlineData("""{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}""", "input_audio")]
    [InlineData("""{"type":"file","file":{"file_id":"f"}}""", "file")]
    public void Parts_anthropic_cannot_take_are_unsupported(string part, string type)
    {
        var error = Refuse(Req($$"""[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{{part}}]}]"""));
        Assert.Equal((400, "messages[2].content[0].type", "unsupported_parameter"), (error.Status, error.Param, error.Code));
        Assert.Equal($"Content parts of type '{type}' are not supported by Anthropic models through this gateway.", error.Message);
    }

    [Fact]
    public void Consecutive_messages_of_one_role_are_merged()
    {
        var body = Translate(Req("""[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":"c"},{"role":"assistant","content":"d"},{"role":"user","content":"e"}]"""));
        AssertJson("""
            [{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
             {"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]},
             {"role":"user","content":[{"type":"text","text":"e"}]}]
            """, body["messages"]);
    }

    [Fact]
    public void An_empty_assistant_message_is_dropped()
    {
        var body = Translate(Req("""[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]"""));
        AssertJson("""[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]""", body["messages"]);
    }

    // ---- request: tools ----

    private const string Tools = """
        ,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
                  {"type":"function","function":{"name":"now"}}]
        """;

    [Fact]
    public void Tool_definitions_become_anthropic_tools()
    {
        var body = Translate(Req(Hi, Tools));
        AssertJson("""
            [{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
             {"name":"now","input_schema":{"type":"object","properties":{}}}]
            """, body["tools"]);
        Assert.False(body.ContainsKey("tool_choice"));
    }

    [Fact]
    public void Custom_tools_are_left_out()
    {
        var body = Translate(Req(Hi, ""","tools":[{"type":"custom","custom":{"name":"g"}},{"type":"function","function":{"name":"f"}}]"""));
        AssertJson("""[{"name":"f","input_schema":{"type":"object","properties":{}}}]""", body["tools"]);
    }

    [Theory]
    [InlineData("\"auto\"", """{"type":"auto"}""")]
    [InlineData("\"required\"", """{"type":"any"}""")]
    [InlineData("\"none\"", """{"type":"none"}""")]
    [InlineData("""{"type":"function","function":{"name":"now"}}""", """{"type":"tool","name":"now"}""")]
    public void Tool_choice_is_mapped(string choice, string expected)
    {
        AssertJson(expected, Translate(Req(Hi, Tools + $",\"tool_choice\":{choice}"))["tool_choice"]);
    }

    [Theory]
    [InlineData("", """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData(""","tool_choice":"required" """, """{"type":"any","disable_parallel_tool_use":true}""")]
    [InlineData(""","tool_choice":{"type":"function","function":{"name":"now"}}""", """{"type":"tool","name":"now","disable_parallel_tool_use":true}""")]
    [InlineData(""","tool_choice":"none" """, """{"type":"none"}""")]
    public void Parallel_tool_calls_false_disables_parallel_tool_use(string choice, string expected)
    {
        AssertJson(expected, Translate(Req(Hi, Tools + choice + ""","parallel_tool_calls":false"""))["tool_choice"]);
    }

    [Fact]
    public void Parallel_tool_calls_true_changes_nothing()
    {
        Assert.False(Translate(Req(Hi, Tools + ""","parallel_tool_calls":true"""))!.ContainsKey("tool_choice"));
    }

    [Fact]
    public void Assistant_tool_calls_become_tool_use_blocks_and_results_one_user_turn()
    {
        var body = Translate(Req("""
            [{"role":"user","content":"weather in Oslo and Rome?"},
             {"role":"assistant","content":"checking","tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":""}}]},
             {"role":"tool","tool_call_id":"call_1","content":"3C"},
             {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
             {"role":"user","content":"thanks"}]
            """, Tools));
        AssertJson("""
            [{"role":"user","content":[{"type":"text","text":"weather in Oslo and Rome?"}]},
             {"role":"assistant","content":[
                {"type":"text","text":"checking"},
                {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Oslo"}},
                {"type":"tool_use","id":"call_2","name":"get_weather","input":{}}]},
             {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"call_1","content":"3C"},
                {"type":"tool_result","tool_use_id":"call_2","content":"21C"},
                {"type":"text","text":"thanks"}]}]
            """, body["messages"]);
    }

    [Fact]
    public void Tool_results_are_moved_before_text_in_a_merged_user_turn()
    {
        var body = Translate(Req("""
            [{"role":"user","content":"q"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"{}"}}]},
             {"role":"user","content":"also this"},
             {"role":"tool","tool_call_id":"c1","content":"noon"}]
            """, Tools));
        AssertJson("""[{"type":"tool_result","tool_use_id":"c1","content":"noon"},{"type":"text","text":"also this"}]""", body["messages"]![2]!["content"]);
    }

    [Fact]
    public void Tool_call_arguments_that_are_not_json_are_a_400()
    {
        var error = Refuse(Req("""
            [{"role":"user","content":"q"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"{\"a\":1}"}},{"id":"c2","type":"function","function":{"name":"now","arguments":"{oops"}}]}]
            """));
        Assert.Equal((400, "messages[1].tool_calls[1].function.arguments", "invalid_value"), (error.Status, error.Param, error.Code));
    }

    [Fact]
    public void Tool_call_arguments_that_are_not_an_object_become_an_empty_input()
    {
        var body = Translate(Req("""[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"[1,2]"}}]}]"""));
        AssertJson("""{}""", body["messages"]![1]!["content"]![0]!["input"]);
    }

    [Fact]
    public void A_legacy_function_message_uses_its_name_as_the_tool_use_id()
    {
        var body = Translate(Req("""[{"role":"user","content":"q"},{"role":"function","name":"now","content":"noon"}]"""));
        // merged into the user turn, tool results first
        AssertJson("""{"role":"user","content":[{"type":"tool_result","tool_use_id":"now","content":"noon"},{"type":"text","text":"q"}]}""", body["messages"]![0]);
    }

    [Fact]
    public void Three_tool_results_keep_their_order()
    {
        var body = Translate(Req("""
            [{"role":"user","content":"q"},
             {"role":"assistant","content":null,"tool_calls":[
                {"id":"c1","type":"function","function":{"name":"now","arguments":"{}"}},
                {"id":"c2","type":"function","function":{"name":"now","arguments":"{}"}},
                {"id":"c3","type":"function","function":{"name":"now","arguments":"{}"}}]},
             {"role":"tool","tool_call_id":"c1","content":"1"},
             {"role":"tool","tool_call_id":"c2","content":"2"},
             {"role":"tool","tool_call_id":"c3","content":"3"}]
            """));
        Assert.Equal(["c1", "c2", "c3"], body["messages"]![2]!["content"]!.AsArray().Select(b => (string?)b!["tool_use_id"]));
    }

    // ---- request: JSON output and unsupported parameters ----

    [Fact]
    public void Json_object_mode_forces_a_json_tool()
    {
        var body = Translate(Req(Hi, ""","response_format":{"type":"json_object"}"""));
        AssertJson("""[{"name":"json_response","description":"Respond with a JSON object.","input_schema":{"type":"object"}}]""", body["tools"]);
        AssertJson("""{"type":"tool","name":"json_response"}""", body["tool_choice"]);
    }

    [Fact]
    public void Json_schema_mode_uses_the_schema_and_its_description()
    {
        var body = Translate(Req(Hi, ""","response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"the answer","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}"""));
        AssertJson("""[{"name":"json_response","description":"Respond with a JSON object: the answer","input_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}]""", body["tools"]);
    }

    [Fact]
    public void Text_response_format_adds_no_tool()
    {
        Assert.False(Translate(Req(Hi, ""","response_format":{"type":"text"}""")).ContainsKey("tools"));
    }

    [Theory]
    [InlineData(""","n":2""", "n", "unsupported_parameter", "Anthropic models return one choice per request; 'n' must be 1.")]
    [InlineData(""","logprobs":true""", "logprobs", "unsupported_parameter", "Anthropic models do not return log probabilities.")]
    [InlineData(""","temperature":1.01""", "temperature", "invalid_value", "Anthropic models accept a temperature between 0 and 1.")]
    public void Parameters_anthropic_cannot_honour_are_400(string extra, string param, string code, string message)
    {
        var error = Refuse(Req(Hi, extra));
        Assert.Equal(new GatewayError(400, message, "invalid_request_error", param, code), error);
    }

    [Fact]
    public void Json_output_with_tools_is_unsupported()
    {
        var error = Refuse(Req(Hi, Tools + ""","response_format":{"type":"json_object"}"""));
        Assert.Equal((400, "response_format", "unsupported_parameter"), (error.Status, error.Param, error.Code));
    }

    [Fact]
    public void Temperature_one_and_n_one_are_fine()
    {
        Assert.Equal(1.0, (double)Translate(Req(Hi, ""","temperature":1,"n":1"""))["temperature"]!);
    }

    // ---- response ----

    [Theory]
    [InlineData("end_turn", false, "stop")]
    [InlineData("stop_sequence", false, "stop")]
    [InlineData("pause_turn", false, "stop")]
    [InlineData("max_tokens", false, "length")]
    [InlineData("model_context_window_exceeded", false, "length")]
    [InlineData("tool_use", false, "tool_calls")]
    [InlineData("tool_use", true, "stop")]
    [InlineData("refusal", false, "content_filter")]
    [InlineData(null, false, "stop")]
    [InlineData("something_new", false, "stop")]
    public void Stop_reasons_map_to_finish_reasons(string? stopReason, bool jsonMode, string expected)
    {
        Assert.Equal(expected, AnthropicTranslator.FinishReason(stopReason, jsonMode));
    }

    [Fact]
    public void Usage_adds_cache_reads_and_writes_to_the_prompt()
    {
        var usage = AnthropicTranslator.Usage(JsonNode.Parse("""{"input_tokens":10,"cache_read_input_tokens":200,"cache_creation_input_tokens":30,"output_tokens":7}"""));
        Assert.Equal(new TokenUsage(240, 7, 200, 30), usage);
        Assert.Equal(
            """{"prompt_tokens":240,"completion_tokens":7,"total_tokens":247,"prompt_tokens_details":{"cached_tokens":200,"cache_write_tokens":30},"completion_tokens_details":{"reasoning_tokens":0}}""",
            usage.ToJson().ToJsonString());
        Assert.Equal(new TokenUsage(240, 99, 200, 30), AnthropicTranslator.Usage(JsonNode.Parse("""{"input_tokens":10,"cache_read_input_tokens":200,"cache_creation_input_tokens":30,"output_tokens":7}"""), 99));
        Assert.Equal(new TokenUsage(0, 0), AnthropicTranslator.Usage(null));
    }

    [Fact]
    public void A_text_message_becomes_a_chat_completion()
    {
        var message = JsonNode.Parse("""
            {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
             "content":[{"type":"text","text":"Hello"},{"type":"text","text":", world"}],
             "stop_reason":"max_tokens","usage":{"input_tokens":12,"output_tokens":3,"cache_read_input_tokens":4}}
            """)!.AsObject();
        var result = AnthropicTranslator.FromAnthropic(message, Parse(Req(Hi)), 1_700_000_000);
        AssertJson("""
            {"id":"msg_01","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-5-20250929",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello, world","refusal":null},"logprobs":null,"finish_reason":"length"}],
             "usage":{"prompt_tokens":16,"completion_tokens":3,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":0}}}
            """, result.Body);
        Assert.Equal(new TokenUsage(16, 3, 4, 0), result.Usage);
    }

    [Fact]
    public void Tool_use_blocks_become_tool_calls()
    {
        var message = JsonNode.Parse("""
            {"id":"msg_02","content":[
               {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}},
               {"type":"tool_use","id":"toolu_2","name":"now","input":{}}],
             "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}
            """)!.AsObject();
        var result = AnthropicTranslator.FromAnthropic(message, Parse(Req(Hi, Tools)), 1);
        var choice = result.Body["choices"]![0]!;
        AssertJson("""
            {"role":"assistant","content":null,"tool_calls":[
               {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
               {"id":"toolu_2","type":"function","function":{"name":"now","arguments":"{}"}}],"refusal":null}
            """, choice["message"]);
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        Assert.Equal("claude", (string?)result.Body["model"]);
    }

    [Fact]
    public void Text_alongside_tool_use_is_kept_as_content()
    {
        var message = JsonNode.Parse("""{"content":[{"type":"text","text":"let me look"},{"type":"tool_use","id":"t","name":"now","input":{}}],"stop_reason":"tool_use"}""")!.AsObject();
        var result = AnthropicTranslator.FromAnthropic(message, Parse(Req(Hi, Tools)), 1);
        Assert.Equal("let me look", (string?)result.Body["choices"]![0]!["message"]!["content"]);
        Assert.Single(result.Body["choices"]![0]!["message"]!["tool_calls"]!.AsArray());
        Assert.Equal("msg", (string?)result.Body["id"]);
    }

    [Fact]
    public void In_json_mode_the_forced_tool_input_is_the_content()
    {
        var message = JsonNode.Parse("""{"id":"m","content":[{"type":"tool_use","id":"t","name":"json_response","input":{"a":1,"b":[true]}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}""")!.AsObject();
        var result = AnthropicTranslator.FromAnthropic(message, Parse(Req(Hi, ""","response_format":{"type":"json_object"}""")), 1);
        var choice = result.Body["choices"]![0]!;
        Assert.Equal("""{"a":1,"b":[true]}""", (string?)choice["message"]!["content"]);
        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
    }

    [Fact]
    public void Unknown_blocks_are_ignored_and_a_message_without_content_is_empty_text()
    {
        var thinking = JsonNode.Parse("""{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"ok"}],"stop_reason":"end_turn"}""")!.AsObject();
        Assert.Equal("ok", (string?)AnthropicTranslator.FromAnthropic(thinking, Parse(Req(Hi)), 1).Body["choices"]![0]!["message"]!["content"]);
        var empty = JsonNode.Parse("""{"stop_reason":"refusal"}""")!.AsObject();
        var result = AnthropicTranslator.FromAnthropic(empty, Parse(Req(Hi)), 1);
        Assert.Equal("", (string?)result.Body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("content_filter", (string?)result.Body["choices"]![0]!["finish_reason"]);
        Assert.Equal(new TokenUsage(0, 0), result.Usage);
    }

    // ---- streaming events (through AnthropicProvider with a canned SSE body) ----

    private sealed class CannedHandler(string sse, HttpStatusCode status = HttpStatusCode.OK) : HttpMessageHandler
    {
        public string? SentBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            SentBody = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StringContent(sse, Encoding.UTF8, "text/event-stream") };
        }
    }

    private static string Sse(params string[] events) => string.Concat(events.Select(e =>
    {
        var type = (string)JsonNode.Parse(e)!["type"]!;
        return $"event: {type}\ndata: {e}\n\n";
    }));

    private static async Task<(List<JsonObject> Chunks, IChatStream Stream, CannedHandler Handler)> Stream(string sse, string request)
    {
        var handler = new CannedHandler(sse);
        var provider = new AnthropicProvider(new HttpClient(handler), Claude, TestSecrets.None, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000)));
        var stream = await provider.OpenStreamAsync(new ProviderRequest(Parse(request), Claude, "req"), default);
        var chunks = new List<JsonObject>();
        while (await stream.ReadAsync(default) is { } c) chunks.Add(c);
        return (chunks, stream, handler);
    }

    private const string Start = """{"type":"message_start","message":{"id":"msg_s","model":"claude-x","usage":{"input_tokens":20,"cache_read_input_tokens":100,"cache_creation_input_tokens":0,"output_tokens":1}}}""";
    private const string Stop = """{"type":"message_stop"}""";

    private static IEnumerable<JsonNode?> Deltas(List<JsonObject> chunks) => chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]);

    [Fact]
    public async Task Stream_events_become_chunks_with_the_message_id_model_and_creation_time()
    {
        var (chunks, stream, handler) = await Stream(Sse(
            Start,
            """{"type":"ping"}""",
            """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}""",
            """{"type":"content_block_stop","index":0}""",
            """{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":15}}""",
            Stop), Req(Hi, ""","stream":true"""));

        Assert.True((bool)JsonNode.Parse(handler.SentBody!)!["stream"]!);
        Assert.Equal(5, chunks.Count);
        Assert.All(chunks, c =>
        {
            Assert.Equal("msg_s", (string?)c["id"]);
            Assert.Equal("claude-x", (string?)c["model"]);
            Assert.Equal(1_800_000_000, (long)c["created"]!);
            Assert.Equal("chat.completion.chunk", (string?)c["object"]);
        });
        AssertJson("""{"role":"assistant","content":""}""", chunks[0]["choices"]![0]!["delta"]);
        Assert.Equal(["Hel", "lo"], chunks.Skip(1).Take(2).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
        Assert.Equal("length", (string?)chunks[3]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[4]["choices"]!.AsArray());
        Assert.Equal(new TokenUsage(120, 15, 100, 0), stream.Usage);
        AssertJson(new TokenUsage(120, 15, 100, 0).ToJson().ToJsonString(), chunks[4]["usage"]);
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task Input_usage_reported_late_in_message_delta_is_taken()
    {
        var (_, stream, _) = await Stream(Sse(
            """{"type":"message_start","message":{"id":"m","usage":{"input_tokens":0,"output_tokens":0}}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":42,"cache_creation_input_tokens":8,"output_tokens":3}}""",
            Stop), Req(Hi, ""","stream":true"""));
        Assert.Equal(new TokenUsage(50, 3, 0, 8), stream.Usage);
    }

    [Fact]
    public async Task Text_in_a_content_block_start_is_sent()
    {
        var (chunks, _, _) = await Stream(Sse(
            Start,
            """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Prefilled"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}""",
            Stop), Req(Hi, ""","stream":true"""));
        Assert.Equal("Prefilled", (string?)chunks[1]["choices"]![0]!["delta"]!["content"]);
    }

    [Fact]
    public async Task Several_tool_uses_get_consecutive_openai_indexes()
    {
        var (chunks, _, _) = await Stream(Sse(
            Start,
            """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Two calls."}}""",
            """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}""",
            """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}""",
            """{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"now","input":{}}}""",
            """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Oslo\"}"}}""",
            """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}""",
            """{"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"ignored"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}""",
            Stop), Req(Hi, Tools + ""","stream":true"""));

        var calls = Deltas(chunks).Select(d => d?["tool_calls"]?[0]).Where(t => t is not null).ToList();
        AssertJson("""{"index":0,"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":""}}""", calls[0]);
        AssertJson("""{"index":0,"function":{"arguments":"{\"city\":"}}""", calls[1]);
        AssertJson("""{"index":1,"id":"toolu_b","type":"function","function":{"name":"now","arguments":""}}""", calls[2]);
        AssertJson("""{"index":0,"function":{"arguments":"\"Oslo\"}"}}""", calls[3]);
        AssertJson("""{"index":1,"function":{"arguments":"{}"}}""", calls[4]);
        Assert.Equal(5, calls.Count);
        Assert.Equal("tool_calls", (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task In_json_mode_the_forced_tool_input_streams_as_content()
    {
        var (chunks, _, handler) = await Stream(Sse(
            Start,
            """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"json_response","input":{}}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}""",
            Stop), Req(Hi, ""","stream":true,"response_format":{"type":"json_object"}"""));

        Assert.Equal("json_response", (string?)JsonNode.Parse(handler.SentBody!)!["tool_choice"]!["name"]);
        Assert.Equal("""{"a":1}""", string.Concat(Deltas(chunks).Select(d => (string?)d?["content"])));
        Assert.DoesNotContain(Deltas(chunks), d => d?["tool_calls"] is not null);
        Assert.Equal("stop", (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task A_refusal_finishes_with_content_filter()
    {
        var (chunks, _, _) = await Stream(Sse(Start,
            """{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":0}}""", Stop), Req(Hi, ""","stream":true"""));
        Assert.Equal("content_filter", (string?)chunks[1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task An_error_event_is_a_502()
    {
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Stream(Sse(Start,
            """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""), Req(Hi, ""","stream":true""")));
        Assert.Equal((502, "upstream_error"), (ex.Error.Status, ex.Error.Code));
        Assert.DoesNotContain("Overloaded", ex.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_before_message_stop_is_a_502()
    {
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Stream(Sse(Start,
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"cut"}}"""), Req(Hi, ""","stream":true""")));
        Assert.Equal((502, "upstream_error"), (ex.Error.Status, ex.Error.Code));
    }

    [Fact]
    public async Task An_event_that_is_not_json_is_a_502_protocol_error()
    {
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Stream(Sse(Start) + "event: content_block_delta\ndata: {not json\n\n", Req(Hi, ""","stream":true""")));
        Assert.Equal((502, "upstream_protocol_error"), (ex.Error.Status, ex.Error.Code));
    }

    [Fact]
    public async Task Events_without_an_event_line_are_typed_by_their_data()
    {
        var sse = string.Concat(new[]
        {
            Start,
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"plain"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}""",
            Stop,
        }.Select(e => $"data: {e}\n\n"));
        var (chunks, stream, _) = await Stream(": comment\n\n" + sse, Req(Hi, ""","stream":true"""));
        Assert.Equal("plain", (string?)chunks[1]["choices"]![0]!["delta"]!["content"]);
        Assert.Equal(2, stream.Usage!.Value.CompletionTokens);
    }
}
