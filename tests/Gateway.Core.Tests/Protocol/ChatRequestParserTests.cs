using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Errors;
using Gateway.Core.Protocol;

namespace Gateway.Core.Tests.Protocol;

public sealed class ChatRequestParserTests
{
    private const string Messages = """[{"role":"user","content":"hi"}]""";

    private static ChatRequest Parse(string json) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>A valid request with one extra top-level field, given as raw JSON.</summary>
    private static string With(string field, string rawValue) =>
        $$"""{"model":"gpt-4o","messages":{{Messages}},"{{field}}":{{rawValue}}}""";

    private static string WithMessages(string rawMessages) => $$"""{"model":"gpt-4o","messages":{{rawMessages}}}""";

    private static GatewayError Reject(string json) => Assert.Throws<GatewayException>(() => Parse(json)).Error;

    private static void AssertInvalid(GatewayError error, string? param, string? code)
    {
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    // ---- Numbers ----

    [Theory]
    [InlineData("""{"model":"gpt-4o","temperature":0,"x":1e400,"messages":[{"role":"user","content":"hi"}]}""", "x")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":-1e400}""", "temperature")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"metadata":{"a":{"b":[1,2,1e999]}}}""", "metadata.a.b[2]")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"},{"role":"user","content":"x","weight":1E+309}]}""", "messages[1].weight")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":1e400},"n":1}""", "logit_bias.50256")]
    public void A_number_beyond_a_double_anywhere_is_an_invalid_value_naming_its_field(string json, string param)
    {
        var error = Reject(json);
        AssertInvalid(error, param, "invalid_value");
        Assert.Contains(param, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_and_tiny_finite_numbers_still_parse()
    {
        var request = Parse("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"metadata":{"a":"b"},"seed":9007199254740993,"x":1e308,"y":1e-400}""");
        Assert.Equal("gpt-4o", request.Model);
    }

    // ---- Request limits ----

    [Fact]
    public void Requests_beyond_openais_limits_are_refused_naming_the_field()
    {
        var message = """{"role":"user","content":"x"}""";
        AssertInvalid(Reject(WithMessages("[" + string.Join(",", Enumerable.Repeat(message, ChatRequestParser.MaxMessages + 1)) + "]")), "messages", "array_above_max_length");
        Assert.Equal("gpt-4o", Parse(WithMessages("[" + string.Join(",", Enumerable.Repeat(message, ChatRequestParser.MaxMessages)) + "]")).Model);

        var tool = """{"type":"function","function":{"name":"f","parameters":{}}}""";
        AssertInvalid(Reject(With("tools", "[" + string.Join(",", Enumerable.Repeat(tool, ChatRequestParser.MaxTools + 1)) + "]")), "tools", "array_above_max_length");

        var pairs = string.Join(",", Enumerable.Range(0, 17).Select(i => $"\"k{i}\":\"v\""));
        AssertInvalid(Reject(With("metadata", "{" + pairs + "}")), "metadata", "object_above_max_properties");
        AssertInvalid(Reject(With("metadata", $$"""{"{{new string('k', 65)}}":"v"}""")), "metadata", "string_above_max_length");
        AssertInvalid(Reject(With("metadata", $$"""{"k":"{{new string('v', 513)}}"}""")), "metadata.k", "string_above_max_length");
        AssertInvalid(Reject(With("metadata", """{"k":1}""")), "metadata.k", "invalid_type");
        Assert.Equal("gpt-4o", Parse(With("metadata", $$"""{"k":"{{new string('v', 512)}}"}""")).Model);
    }

    [Fact]
    public void A_string_over_ten_million_characters_anywhere_is_refused_naming_where()
    {
        var huge = new string('a', ChatRequestParser.MaxStringLength + 1);
        AssertInvalid(Reject(WithMessages($$"""[{"role":"user","content":"{{huge}}"}]""")), "messages[0].content", "string_above_max_length");
        AssertInvalid(Reject(With("x_extra", $$"""{"deep":["{{huge}}"]}""")), "x_extra.deep[0]", "string_above_max_length");
    }

    // ---- Body shape ----

    [Fact]
    public void An_empty_body_is_invalid_json()
    {
        var error = Assert.Throws<GatewayException>(() => ChatRequestParser.Parse([])).Error;
        AssertInvalid(error, null, "invalid_json");
        Assert.Equal("The request body is empty; expected a JSON object.", error.Message);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"model\":\"m\",}")]
    [InlineData("{\"model\":'m'}")]
    [InlineData("{\"model\":\"m\"} // comment")]
    [InlineData("{\"model\":\"m\"} trailing")]
    [InlineData("not json")]
    public void Malformed_json_is_400_invalid_json_with_the_parser_detail(string json)
    {
        var error = Reject(json);
        AssertInvalid(error, null, "invalid_json");
        Assert.StartsWith("We could not parse the JSON body of your request. (", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void A_body_that_is_not_an_object_is_rejected(string json)
    {
        var error = Reject(json);
        AssertInvalid(error, null, "invalid_json");
        Assert.Equal("The request body must be a JSON object.", error.Message);
    }

    [Fact]
    public void Nesting_deeper_than_128_levels_is_invalid_json_not_a_crash()
    {
        var deep = new string('[', 200) + new string(']', 200);
        AssertInvalid(Reject(With("x_deep", deep)), null, "invalid_json");
    }

    // ---- model ----

    [Fact]
    public void Missing_model_is_missing_required_parameter()
    {
        var error = Reject($$"""{"messages":{{Messages}}}""");
        AssertInvalid(error, "model", "missing_required_parameter");
        Assert.Equal("Missing required parameter: 'model'.", error.Message);
    }

    [Fact]
    public void Null_model_is_missing_required_parameter()
    {
        AssertInvalid(Reject($$"""{"model":null,"messages":{{Messages}}}"""), "model", "missing_required_parameter");
    }

    [Theory]
    [InlineData("42")]
    [InlineData("true")]
    [InlineData("[\"gpt-4o\"]")]
    [InlineData("{\"name\":\"gpt-4o\"}")]
    public void A_model_that_is_not_a_string_is_invalid_type(string raw)
    {
        var error = Reject($$"""{"model":{{raw}},"messages":{{Messages}}}""");
        AssertInvalid(error, "model", "invalid_type");
        Assert.Equal("Invalid type for 'model': expected a string.", error.Message);
    }

    [Fact]
    public void An_empty_model_is_rejected_without_a_code()
    {
        var error = Reject($$"""{"model":"","messages":{{Messages}}}""");
        AssertInvalid(error, "model", null);
        Assert.Equal("'model' must not be empty.", error.Message);
    }

    // ---- messages ----

    [Fact]
    public void Missing_messages_is_missing_required_parameter()
    {
        var error = Reject("""{"model":"gpt-4o"}""");
        AssertInvalid(error, "messages", "missing_required_parameter");
        Assert.Equal("Missing required parameter: 'messages'.", error.Message);
        AssertInvalid(Reject("""{"model":"gpt-4o","messages":null}"""), "messages", "missing_required_parameter");
    }

    [Theory]
    [InlineData("\"hi\"")]
    [InlineData("{\"role\":\"user\",\"content\":\"hi\"}")]
    [InlineData("3")]
    public void Messages_that_are_not_an_array_are_rejected(string raw)
    {
        var error = Reject(WithMessages(raw));
        AssertInvalid(error, "messages", null);
        Assert.Equal("'messages' must be an array.", error.Message);
    }

    [Fact]
    public void An_empty_messages_array_is_rejected()
    {
        var error = Reject(WithMessages("[]"));
        AssertInvalid(error, "messages", null);
        Assert.Equal("'messages' must contain at least one message.", error.Message);
    }

    [Theory]
    [InlineData("\"hi\"")]
    [InlineData("null")]
    [InlineData("[]")]
    public void A_message_that_is_not_an_object_names_its_index(string raw)
    {
        var error = Reject(WithMessages($$"""[{"role":"user","content":"a"},{{raw}}]"""));
        AssertInvalid(error, "messages[1]", null);
        Assert.Equal("'messages[1]' must be an object.", error.Message);
    }

    [Theory]
    [InlineData("""{"content":"hi"}""")]
    [InlineData("""{"role":null,"content":"hi"}""")]
    [InlineData("""{"role":7,"content":"hi"}""")]
    public void A_missing_or_non_string_role_is_missing_required_parameter(string message)
    {
        var error = Reject(WithMessages($"[{{\"role\":\"system\",\"content\":\"s\"}},{{\"role\":\"user\",\"content\":\"u\"}},{message}]"));
        AssertInvalid(error, "messages[2].role", "missing_required_parameter");
        Assert.Equal("Missing required parameter: 'messages[2].role'.", error.Message);
    }

    [Theory]
    [InlineData("robot")]
    [InlineData("User")]
    [InlineData("")]
    public void An_unknown_role_is_invalid_value_listing_the_supported_roles(string role)
    {
        var error = Reject(WithMessages($$"""[{"role":"{{role}}","content":"hi"}]"""));
        AssertInvalid(error, "messages[0].role", "invalid_value");
        Assert.Equal($"Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.", error.Message);
    }

    [Theory]
    [InlineData("system")]
    [InlineData("developer")]
    [InlineData("user")]
    [InlineData("assistant")]
    [InlineData("function")]
    public void Every_supported_role_is_accepted(string role)
    {
        var request = Parse(WithMessages($$"""[{"role":"{{role}}","content":"hi"}]"""));
        Assert.Equal(role, Assert.Single(request.Messages).Role);
    }

    [Fact]
    public void Missing_content_is_missing_required_parameter()
    {
        var error = Reject(WithMessages("""[{"role":"user"}]"""));
        AssertInvalid(error, "messages[0].content", "missing_required_parameter");
        Assert.Equal("Missing required parameter: 'messages[0].content'.", error.Message);
    }

    [Fact]
    public void Null_content_is_invalid_type_except_on_assistant_messages_with_tool_calls()
    {
        var error = Reject(WithMessages("""[{"role":"user","content":null}]"""));
        AssertInvalid(error, "messages[0].content", "invalid_type");
        Assert.Equal("Invalid value for 'messages[0].content': expected a string or an array of content parts, got null.", error.Message);

        AssertInvalid(Reject(WithMessages("""[{"role":"assistant","content":null}]""")), "messages[0].content", "invalid_type");
        AssertInvalid(Reject(WithMessages("""[{"role":"assistant","content":null,"tool_calls":[]}]""")), "messages[0].content", "invalid_type");

        var ok = Parse(WithMessages("""[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}]"""));
        Assert.Equal("assistant", ok.Messages[1].Role);
        Assert.Equal("", ok.Messages[1].Text);
        Assert.NotNull(Parse(WithMessages("""[{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]""")));
        Assert.NotNull(Parse(WithMessages("""[{"role":"assistant","audio":{"id":"audio_1"}}]""")));
    }

    [Theory]
    [InlineData("42")]
    [InlineData("true")]
    [InlineData("{\"type\":\"text\",\"text\":\"hi\"}")]
    public void Content_that_is_neither_string_nor_array_is_invalid_type(string raw)
    {
        var error = Reject(WithMessages($$"""[{"role":"user","content":{{raw}}}]"""));
        AssertInvalid(error, "messages[0].content", "invalid_type");
        Assert.Equal("Invalid type for 'messages[0].content': expected a string or an array of content parts.", error.Message);
    }

    [Theory]
    [InlineData("\"hi\"")]
    [InlineData("{\"text\":\"hi\"}")]
    [InlineData("{\"type\":3}")]
    [InlineData("null")]
    public void A_content_part_without_a_string_type_names_the_part(string part)
    {
        var error = Reject(WithMessages($$"""[{"role":"user","content":[{"type":"text","text":"ok"},{{part}}]}]"""));
        AssertInvalid(error, "messages[0].content[1].type", null);
        Assert.Equal("'messages[0].content[1]' must be an object with a 'type'.", error.Message);
    }

    [Fact]
    public void An_unknown_content_part_type_is_invalid_value()
    {
        var error = Reject(WithMessages("""[{"role":"user","content":[{"type":"video","video":{}}]}]"""));
        AssertInvalid(error, "messages[0].content[0].type", "invalid_value");
        Assert.Equal("Invalid value: 'video'. Supported content part types are: 'text', 'image_url', 'input_audio', 'file' and 'refusal'.", error.Message);
    }

    [Theory]
    [InlineData("""{"type":"text"}""")]
    [InlineData("""{"type":"text","text":5}""")]
    public void A_text_part_needs_string_text(string part)
    {
        AssertInvalid(Reject(WithMessages($$"""[{"role":"user","content":[{{part}}]}]""")), "messages[0].content[0].text", "missing_required_parameter");
    }

    [Theory]
    [InlineData("""{"type":"image_url"}""")]
    [InlineData("""{"type":"image_url","image_url":"https://x/y.png"}""")]
    [InlineData("""{"type":"image_url","image_url":{}}""")]
    [InlineData("""{"type":"image_url","image_url":{"url":1}}""")]
    public void An_image_part_needs_an_image_url_object_with_a_string_url(string part)
    {
        var error = Reject(WithMessages($$"""[{"role":"user","content":[{"type":"text","text":"see"},{{part}}]}]"""));
        AssertInvalid(error, "messages[0].content[1].image_url.url", "missing_required_parameter");
    }

    [Fact]
    public void Multi_part_content_is_accepted_and_its_text_joined()
    {
        var request = Parse(WithMessages("""
            [{"role":"user","content":[
              {"type":"text","text":"first"},
              {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}},
              {"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}},
              {"type":"file","file":{"file_id":"f1"}},
              {"type":"text","text":"second"}]}]
            """));
        Assert.Equal("first\nsecond", request.Messages[0].Text);
    }

    [Fact]
    public void A_tool_message_needs_a_string_tool_call_id()
    {
        var error = Reject(WithMessages("""[{"role":"tool","content":"42"}]"""));
        AssertInvalid(error, "messages[0].tool_call_id", "missing_required_parameter");
        Assert.Equal("Missing required parameter: 'messages[0].tool_call_id'.", error.Message);
        AssertInvalid(Reject(WithMessages("""[{"role":"tool","content":"42","tool_call_id":7}]""")), "messages[0].tool_call_id", "missing_required_parameter");
        Assert.Equal("tool", Parse(WithMessages("""[{"role":"tool","content":"42","tool_call_id":"call_1"}]""")).Messages[0].Role);
    }

    [Fact]
    public void Tool_calls_are_only_allowed_on_assistant_messages()
    {
        var error = Reject(WithMessages("""[{"role":"user","content":"x","tool_calls":[]}]"""));
        AssertInvalid(error, "messages[0].tool_calls", null);
        Assert.Equal("'messages[0].tool_calls' is only allowed on assistant messages.", error.Message);
    }

    [Fact]
    public void Tool_calls_must_be_an_array_of_objects()
    {
        var error = Reject(WithMessages("""[{"role":"assistant","content":"x","tool_calls":{}}]"""));
        AssertInvalid(error, "messages[0].tool_calls", null);
        Assert.Equal("'messages[0].tool_calls' must be an array.", error.Message);

        error = Reject(WithMessages("""[{"role":"assistant","content":"x","tool_calls":["call"]}]"""));
        AssertInvalid(error, "messages[0].tool_calls[0]", null);
        Assert.Equal("'messages[0].tool_calls[0]' must be an object.", error.Message);
    }

    [Theory]
    [InlineData("""{"type":"function","function":{"name":"f","arguments":"{}"}}""", "messages[0].tool_calls[1].id", "missing_required_parameter")]
    [InlineData("""{"id":5,"type":"function","function":{"name":"f","arguments":"{}"}}""", "messages[0].tool_calls[1].id", "invalid_type")]
    [InlineData("""{"id":"c2","type":"function"}""", "messages[0].tool_calls[1].function", "missing_required_parameter")]
    [InlineData("""{"id":"c2","type":"function","function":"f"}""", "messages[0].tool_calls[1].function", "missing_required_parameter")]
    [InlineData("""{"id":"c2","type":"function","function":{"arguments":"{}"}}""", "messages[0].tool_calls[1].function.name", "missing_required_parameter")]
    [InlineData("""{"id":"c2","type":"function","function":{"name":"f"}}""", "messages[0].tool_calls[1].function.arguments", "missing_required_parameter")]
    [InlineData("""{"id":"c2","type":"function","function":{"name":"f","arguments":{}}}""", "messages[0].tool_calls[1].function.arguments", "invalid_type")]
    public void Each_tool_call_field_is_checked_and_named(string call, string param, string code)
    {
        var good = """{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}""";
        AssertInvalid(Reject(WithMessages($$"""[{"role":"assistant","content":null,"tool_calls":[{{good}},{{call}}]}]""")), param, code);
    }

    [Fact]
    public void A_message_name_must_be_a_string()
    {
        var error = Reject(WithMessages("""[{"role":"user","content":"x","name":1}]"""));
        AssertInvalid(error, "messages[0].name", "invalid_type");
        Assert.Equal("'messages[0].name' must be a string.", error.Message);
        Assert.Single(Parse(WithMessages("""[{"role":"user","content":"x","name":"alice"}]""")).Messages);
    }

    // ---- stream and stream_options ----

    [Fact]
    public void Stream_must_be_a_boolean()
    {
        var error = Reject(With("stream", "\"true\""));
        AssertInvalid(error, "stream", "invalid_type");
        Assert.Equal("Invalid type for 'stream': expected a boolean.", error.Message);
        AssertInvalid(Reject(With("stream", "1")), "stream", "invalid_type");
    }

    [Fact]
    public void Stream_options_require_stream()
    {
        var error = Reject(With("stream_options", """{"include_usage":true}"""));
        AssertInvalid(error, "stream_options", null);
        Assert.Equal("The 'stream_options' parameter is only allowed when 'stream' is enabled.", error.Message);

        var withFalse = $$$"""{"model":"m","messages":{{{Messages}}},"stream":false,"stream_options":{"include_usage":true}}""";
        AssertInvalid(Reject(withFalse), "stream_options", null);
    }

    [Fact]
    public void Stream_options_must_be_an_object_with_a_boolean_include_usage()
    {
        var error = Reject($$"""{"model":"m","messages":{{Messages}},"stream":true,"stream_options":true}""");
        AssertInvalid(error, "stream_options", null);
        Assert.Equal("'stream_options' must be an object.", error.Message);

        error = Reject($$$"""{"model":"m","messages":{{{Messages}}},"stream":true,"stream_options":{"include_usage":"yes"}}""");
        AssertInvalid(error, "stream_options.include_usage", "invalid_type");
        Assert.Equal("Invalid type for 'stream_options.include_usage': expected a boolean.", error.Message);
    }

    [Theory]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":true}}""", true, true)]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":false}}""", true, false)]
    [InlineData("""{"stream":true,"stream_options":{}}""", true, false)]
    [InlineData("""{"stream":true}""", true, false)]
    [InlineData("""{"stream":false}""", false, false)]
    [InlineData("""{}""", false, false)]
    public void Stream_and_include_usage_are_read(string extra, bool stream, bool includeUsage)
    {
        var body = JsonNode.Parse(extra)!.AsObject();
        body["model"] = "m";
        body["messages"] = JsonNode.Parse(Messages);
        var request = Parse(body.ToJsonString());
        Assert.Equal(stream, request.Stream);
        Assert.Equal(includeUsage, request.IncludeUsage);
    }

    [Fact]
    public void Stream_options_null_is_treated_as_absent()
    {
        Assert.False(Parse(With("stream_options", "null")).IncludeUsage);
    }

    // ---- numeric ranges ----

    [Theory]
    [InlineData("temperature", "-0.1", "-0.1", "0", "2")]
    [InlineData("temperature", "2.5", "2.5", "0", "2")]
    [InlineData("top_p", "1.01", "1.01", "0", "1")]
    [InlineData("top_p", "-1", "-1", "0", "1")]
    [InlineData("presence_penalty", "-2.5", "-2.5", "-2", "2")]
    [InlineData("presence_penalty", "3", "3", "-2", "2")]
    [InlineData("frequency_penalty", "2.01", "2.01", "-2", "2")]
    [InlineData("frequency_penalty", "-7", "-7", "-2", "2")]
    public void Numbers_outside_their_range_are_invalid_value(string field, string raw, string shown, string min, string max)
    {
        var error = Reject(With(field, raw));
        AssertInvalid(error, field, "invalid_value");
        Assert.Equal($"Invalid '{field}': {shown} is outside the allowed range {min} to {max}.", error.Message);
    }

    [Theory]
    [InlineData("temperature", "0")]
    [InlineData("temperature", "2")]
    [InlineData("temperature", "1.3")]
    [InlineData("top_p", "0")]
    [InlineData("top_p", "1")]
    [InlineData("presence_penalty", "-2")]
    [InlineData("presence_penalty", "2")]
    [InlineData("frequency_penalty", "-2")]
    [InlineData("frequency_penalty", "0.5")]
    public void Numbers_at_and_within_the_bounds_are_accepted(string field, string raw)
    {
        Assert.Equal("gpt-4o", Parse(With(field, raw)).Model);
    }

    [Theory]
    [InlineData("temperature", "\"0.5\"")]
    [InlineData("temperature", "true")]
    [InlineData("top_p", "[1]")]
    [InlineData("presence_penalty", "{}")]
    [InlineData("frequency_penalty", "\"high\"")]
    public void Non_numbers_are_invalid_type(string field, string raw)
    {
        var error = Reject(With(field, raw));
        AssertInvalid(error, field, "invalid_type");
        Assert.Equal($"Invalid type for '{field}': expected a number.", error.Message);
    }

    [Fact]
    public void Temperature_is_read_and_null_means_absent()
    {
        Assert.Equal(0.7, Parse(With("temperature", "0.7")).Temperature);
        Assert.Null(Parse(With("temperature", "null")).Temperature);
        Assert.Null(Parse(With("x", "1")).Temperature);
    }

    [Theory]
    [InlineData("n", "0", "0", "1", "128")]
    [InlineData("n", "129", "129", "1", "128")]
    [InlineData("n", "-3", "-3", "1", "128")]
    [InlineData("max_tokens", "0", "0", "1", "2147483647")]
    [InlineData("max_tokens", "2147483648", "2147483648", "1", "2147483647")]
    [InlineData("max_completion_tokens", "0", "0", "1", "2147483647")]
    [InlineData("top_logprobs", "21", "21", "0", "20")]
    [InlineData("top_logprobs", "-1", "-1", "0", "20")]
    public void Integers_outside_their_range_are_invalid_value(string field, string raw, string shown, string min, string max)
    {
        var body = field == "top_logprobs"
            ? $$"""{"model":"m","messages":{{Messages}},"logprobs":true,"top_logprobs":{{raw}}}"""
            : With(field, raw);
        var error = Reject(body);
        AssertInvalid(error, field, "invalid_value");
        Assert.Equal($"Invalid '{field}': {shown} is outside the allowed range {min} to {max}.", error.Message);
    }

    [Theory]
    [InlineData("n", "1.5")]
    [InlineData("n", "\"2\"")]
    [InlineData("max_tokens", "10.5")]
    [InlineData("max_tokens", "\"100\"")]
    [InlineData("max_completion_tokens", "true")]
    [InlineData("seed", "1.25")]
    [InlineData("seed", "\"42\"")]
    [InlineData("seed", "1e30")]
    public void Non_integers_are_invalid_type(string field, string raw)
    {
        var error = Reject(With(field, raw));
        AssertInvalid(error, field, "invalid_type");
        Assert.Equal($"Invalid type for '{field}': expected an integer.", error.Message);
    }

    [Theory]
    [InlineData("n", "2.0", 2)]
    [InlineData("n", "1e1", 10)]
    [InlineData("n", "128", 128)]
    public void Integral_numbers_written_with_a_fraction_or_exponent_are_integers(string field, string raw, int expected)
    {
        Assert.Equal(expected, Parse(With(field, raw)).N);
    }

    [Fact]
    public void N_defaults_to_one_and_seed_accepts_any_64_bit_integer()
    {
        Assert.Equal(1, Parse(With("x", "0")).N);
        Assert.Equal(3, Parse(With("n", "3")).N);
        Assert.NotNull(Parse(With("seed", "-9223372036854775808")));
        Assert.NotNull(Parse(With("seed", "9223372036854775807")));
    }

    // ---- max_tokens vs max_completion_tokens ----

    [Theory]
    [InlineData("""{"max_tokens":100}""", 100)]
    [InlineData("""{"max_completion_tokens":50}""", 50)]
    [InlineData("""{"max_tokens":100,"max_completion_tokens":50}""", 50)]
    [InlineData("""{"max_tokens":10,"max_completion_tokens":500}""", 500)]
    [InlineData("""{"max_tokens":2147483647}""", int.MaxValue)]
    [InlineData("""{}""", null)]
    public void Max_completion_tokens_wins_over_max_tokens(string extra, int? expected)
    {
        var body = JsonNode.Parse(extra)!.AsObject();
        body["model"] = "m";
        body["messages"] = JsonNode.Parse(Messages);
        Assert.Equal(expected, Parse(body.ToJsonString()).MaxOutputTokens);
    }

    [Fact]
    public void An_invalid_max_tokens_is_rejected_even_when_max_completion_tokens_is_valid()
    {
        var error = Reject($$"""{"model":"m","messages":{{Messages}},"max_tokens":0,"max_completion_tokens":10}""");
        AssertInvalid(error, "max_tokens", "invalid_value");
    }

    // ---- logprobs ----

    [Fact]
    public void Top_logprobs_requires_logprobs()
    {
        var error = Reject(With("top_logprobs", "3"));
        AssertInvalid(error, "top_logprobs", null);
        Assert.Equal("'top_logprobs' requires 'logprobs' to be true.", error.Message);
        AssertInvalid(Reject($$"""{"model":"m","messages":{{Messages}},"logprobs":false,"top_logprobs":3}"""), "top_logprobs", null);

        var request = Parse($$"""{"model":"m","messages":{{Messages}},"logprobs":true,"top_logprobs":20}""");
        Assert.True(request.Logprobs);
        Assert.False(Parse(With("x", "1")).Logprobs);
    }

    [Fact]
    public void Logprobs_and_parallel_tool_calls_must_be_booleans()
    {
        AssertInvalid(Reject(With("logprobs", "1")), "logprobs", "invalid_type");
        AssertInvalid(Reject(With("parallel_tool_calls", "\"false\"")), "parallel_tool_calls", "invalid_type");
    }

    // ---- user, logit_bias, metadata ----

    [Fact]
    public void User_must_be_a_string_and_is_read()
    {
        Assert.Equal("alice", Parse(With("user", "\"alice\"")).User);
        Assert.Null(Parse(With("x", "1")).User);
        var error = Reject(With("user", "42"));
        AssertInvalid(error, "user", "invalid_type");
        Assert.Equal("Invalid type for 'user': expected a string.", error.Message);
    }

    [Theory]
    [InlineData("logit_bias", "[1,2]", "'logit_bias' must be an object mapping token ids to bias values.")]
    [InlineData("logit_bias", "\"x\"", "'logit_bias' must be an object mapping token ids to bias values.")]
    [InlineData("metadata", "[]", "'metadata' must be an object.")]
    [InlineData("metadata", "\"tag\"", "'metadata' must be an object.")]
    public void Logit_bias_and_metadata_must_be_objects(string field, string raw, string message)
    {
        var error = Reject(With(field, raw));
        AssertInvalid(error, field, null);
        Assert.Equal(message, error.Message);
        // metadata values are strings, as OpenAI's
        Assert.NotNull(Parse(With(field, field == "metadata" ? """{"50256":"-100"}""" : """{"50256":-100}""")));
    }

    // ---- stop ----

    [Fact]
    public void Stop_accepts_a_string_or_up_to_four_strings()
    {
        Assert.Equal(["END"], Parse(With("stop", "\"END\"")).Stop);
        Assert.Equal(["a", "b", "c", "d"], Parse(With("stop", """["a","b","c","d"]""")).Stop);
        Assert.Empty(Parse(With("stop", "[]")).Stop);
        Assert.Empty(Parse(With("stop", "null")).Stop);
        Assert.Empty(Parse(With("x", "1")).Stop);
    }

    [Fact]
    public void More_than_four_stop_sequences_are_rejected()
    {
        var error = Reject(With("stop", """["a","b","c","d","e"]"""));
        AssertInvalid(error, "stop", null);
        Assert.Equal("'stop' accepts at most 4 sequences.", error.Message);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("{}")]
    [InlineData("[\"a\",1]")]
    [InlineData("[null]")]
    public void Stop_of_another_type_is_invalid_type(string raw)
    {
        var error = Reject(With("stop", raw));
        AssertInvalid(error, "stop", "invalid_type");
        Assert.Equal("'stop' must be a string or an array of strings.", error.Message);
    }

    // ---- tools and tool_choice ----

    private const string Tool = """{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object"}}}""";

    [Fact]
    public void Tools_are_read()
    {
        Assert.True(Parse(With("tools", $"[{Tool}]")).HasTools);
        Assert.False(Parse(With("tools", "[]")).HasTools);
        Assert.False(Parse(With("tools", "null")).HasTools);
        Assert.True(Parse(With("tools", """[{"function":{"name":"no_type_means_function"}}]""")).HasTools);
        Assert.True(Parse(With("tools", """[{"type":"custom","custom":{"name":"grammar"}}]""")).HasTools);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("\"get_weather\"")]
    public void Tools_must_be_an_array(string raw)
    {
        var error = Reject(With("tools", raw));
        AssertInvalid(error, "tools", "invalid_type");
        Assert.Equal("'tools' must be an array.", error.Message);
    }

    [Fact]
    public void Each_tool_must_be_an_object()
    {
        var error = Reject(With("tools", $"[{Tool},\"f\"]"));
        AssertInvalid(error, "tools[1]", null);
        Assert.Equal("'tools[1]' must be an object.", error.Message);
    }

    [Fact]
    public void An_unknown_tool_type_is_invalid_value()
    {
        var error = Reject(With("tools", """[{"type":"retrieval"}]"""));
        AssertInvalid(error, "tools[0].type", "invalid_value");
        Assert.Equal("Invalid value: 'retrieval'. Supported values are: 'function' and 'custom'.", error.Message);
    }

    [Theory]
    [InlineData("""{"type":"function"}""", "tools[0].function", "missing_required_parameter")]
    [InlineData("""{"type":"function","function":[]}""", "tools[0].function", "missing_required_parameter")]
    [InlineData("""{"type":"function","function":{}}""", "tools[0].function.name", "missing_required_parameter")]
    [InlineData("""{"type":"function","function":{"name":3}}""", "tools[0].function.name", "invalid_type")]
    [InlineData("""{"type":"function","function":{"name":"f","parameters":"{}"}}""", "tools[0].function.parameters", "invalid_type")]
    [InlineData("""{"type":"function","function":{"name":"f","parameters":[]}}""", "tools[0].function.parameters", "invalid_type")]
    public void Function_tools_are_checked_field_by_field(string tool, string param, string code)
    {
        AssertInvalid(Reject(With("tools", $"[{tool}]")), param, code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("get weather")]
    [InlineData("get.weather")]
    [InlineData("wetter_für_heute")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Function_names_must_match_the_openai_pattern(string name)
    {
        var error = Reject(With("tools", $$$"""[{"type":"function","function":{"name":"{{{name}}}"}}]"""));
        AssertInvalid(error, "tools[0].function.name", "invalid_value");
        Assert.Equal("Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.", error.Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("get_weather-v2")]
    [InlineData("ABC123")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Function_names_that_match_the_pattern_are_accepted(string name)
    {
        Assert.True(Parse(With("tools", $$$"""[{"type":"function","function":{"name":"{{{name}}}"}}]""")).HasTools);
    }

    [Theory]
    [InlineData("\"none\"")]
    [InlineData("\"auto\"")]
    [InlineData("\"required\"")]
    [InlineData("""{"type":"function","function":{"name":"get_weather"}}""")]
    [InlineData("""{"type":"allowed_tools"}""")]
    public void Tool_choice_values_are_accepted_with_tools(string raw)
    {
        Assert.True(Parse($$"""{"model":"m","messages":{{Messages}},"tools":[{{Tool}}],"tool_choice":{{raw}}}""").HasTools);
    }

    [Fact]
    public void Tool_choice_none_and_auto_are_accepted_without_tools()
    {
        Assert.False(Parse(With("tool_choice", "\"none\"")).HasTools);
        Assert.False(Parse(With("tool_choice", "\"auto\"")).HasTools);
    }

    [Fact]
    public void An_unknown_tool_choice_string_is_invalid_value()
    {
        var error = Reject($$"""{"model":"m","messages":{{Messages}},"tools":[{{Tool}}],"tool_choice":"always"}""");
        AssertInvalid(error, "tool_choice", "invalid_value");
        Assert.Equal("Invalid value: 'always'. Supported values are: 'none', 'auto' and 'required'.", error.Message);
    }

    [Fact]
    public void Tool_choice_required_or_an_object_needs_tools()
    {
        var error = Reject(With("tool_choice", "\"required\""));
        AssertInvalid(error, "tool_choice", null);
        Assert.Equal("'tool_choice' is 'required' but no 'tools' were given.", error.Message);

        error = Reject(With("tool_choice", """{"type":"function","function":{"name":"f"}}"""));
        AssertInvalid(error, "tool_choice", null);
        Assert.Equal("'tool_choice' is only allowed when 'tools' are specified.", error.Message);

        AssertInvalid(Reject($$"""{"model":"m","messages":{{Messages}},"tools":[],"tool_choice":"required"}"""), "tool_choice", null);
    }

    [Theory]
    [InlineData("""{"type":"function","function":{}}""", "missing_required_parameter")]
    [InlineData("""{"type":"function","function":{"name":1}}""", "invalid_type")]
    public void A_named_tool_choice_needs_a_string_function_name(string raw, string code)
    {
        AssertInvalid(Reject($$"""{"model":"m","messages":{{Messages}},"tools":[{{Tool}}],"tool_choice":{{raw}}}"""), "tool_choice.function.name", code);
    }

    [Theory]
    [InlineData("3")]
    [InlineData("true")]
    [InlineData("[\"auto\"]")]
    public void Tool_choice_of_another_type_is_invalid_type(string raw)
    {
        var error = Reject(With("tool_choice", raw));
        AssertInvalid(error, "tool_choice", "invalid_type");
        Assert.Equal("'tool_choice' must be a string or an object.", error.Message);
    }

    // ---- response_format ----

    [Theory]
    [InlineData("""{"type":"text"}""", "text")]
    [InlineData("""{"type":"json_object"}""", "json_object")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}""", "json_schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"answer"}}""", "json_schema")]
    [InlineData("null", "text")]
    public void Response_format_types_are_read(string raw, string expected)
    {
        Assert.Equal(expected, Parse(With("response_format", raw)).ResponseFormat);
    }

    [Fact]
    public void Response_format_defaults_to_text()
    {
        Assert.Equal("text", Parse(With("x", "1")).ResponseFormat);
    }

    [Theory]
    [InlineData("\"json_object\"", "response_format", "invalid_type")]
    [InlineData("[]", "response_format", "invalid_type")]
    [InlineData("{}", "response_format.type", "missing_required_parameter")]
    [InlineData("""{"type":1}""", "response_format.type", "invalid_type")]
    [InlineData("""{"type":"xml"}""", "response_format.type", "invalid_value")]
    [InlineData("""{"type":"json_schema"}""", "response_format.json_schema", "missing_required_parameter")]
    [InlineData("""{"type":"json_schema","json_schema":"answer"}""", "response_format.json_schema", "missing_required_parameter")]
    [InlineData("""{"type":"json_schema","json_schema":{}}""", "response_format.json_schema.name", "missing_required_parameter")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":5}}""", "response_format.json_schema.name", "invalid_type")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"a","schema":"object"}}""", "response_format.json_schema.schema", "invalid_type")]
    public void Bad_response_formats_name_the_offending_field(string raw, string param, string code)
    {
        AssertInvalid(Reject(With("response_format", raw)), param, code);
    }

    [Fact]
    public void Response_format_messages_are_exact()
    {
        Assert.Equal("Invalid value: 'xml'. Supported values are: 'text', 'json_object' and 'json_schema'.", Reject(With("response_format", """{"type":"xml"}""")).Message);
        Assert.Equal("'response_format' must be an object.", Reject(With("response_format", "\"x\"")).Message);
        Assert.Equal("Missing required parameter: 'response_format.json_schema'.", Reject(With("response_format", """{"type":"json_schema"}""")).Message);
    }

    // ---- pass-through ----

    [Fact]
    public void Unknown_fields_are_kept_verbatim_in_the_body()
    {
        var json = $$$"""{"model":"gpt-4o","messages":{{{Messages}}},"reasoning_effort":"low","x_vendor":{"a":[1,2,{"b":null}]},"service_tier":"flex","prediction":{"type":"content","content":"x"}}""";
        var request = Parse(json);
        Assert.Equal("low", (string?)request.Body["reasoning_effort"]);
        Assert.Equal("""{"a":[1,2,{"b":null}]}""", request.Body["x_vendor"]!.ToJsonString());
        Assert.Equal("flex", (string?)request.Body["service_tier"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), request.Body));
    }

    [Fact]
    public void Unknown_fields_inside_messages_are_kept()
    {
        var request = Parse(WithMessages("""[{"role":"user","content":"hi","x_meta":{"k":1}}]"""));
        Assert.Equal(1, (int)request.Messages[0].Node["x_meta"]!["k"]!);
    }

    [Fact]
    public void CloneBody_is_a_deep_copy_that_leaves_the_original_untouched()
    {
        var request = Parse(With("x_vendor", """{"a":1}"""));
        var clone = request.CloneBody();
        clone["model"] = "upstream";
        clone["x_vendor"]!["a"] = 2;
        Assert.Equal("gpt-4o", (string?)request.Body["model"]);
        Assert.Equal(1, (int)request.Body["x_vendor"]!["a"]!);
    }

    [Fact]
    public void A_full_request_is_read_into_its_typed_fields()
    {
        var request = Parse("""
            {"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
             "stream":true,"stream_options":{"include_usage":true},"n":2,"max_completion_tokens":77,"temperature":0.25,"user":"u-1",
             "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","response_format":{"type":"json_object"},
             "logprobs":true,"top_logprobs":2,"stop":["x","y"],"seed":5,"parallel_tool_calls":false}
            """);
        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal(["system", "user"], request.Messages.Select(m => m.Role));
        Assert.Equal("be brief", request.Messages[0].Text);
        Assert.Equal("a\nb", request.Messages[1].Text);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
        Assert.Equal(2, request.N);
        Assert.Equal(77, request.MaxOutputTokens);
        Assert.Equal(0.25, request.Temperature);
        Assert.Equal("u-1", request.User);
        Assert.True(request.HasTools);
        Assert.Equal("json_object", request.ResponseFormat);
        Assert.True(request.Logprobs);
        Assert.Equal(["x", "y"], request.Stop);
    }

    [Fact]
    public void Validation_stops_at_the_first_problem_in_document_order_of_the_rules()
    {
        // model is checked before messages, messages before the scalar parameters.
        AssertInvalid(Reject("""{"messages":[],"temperature":9}"""), "model", "missing_required_parameter");
        AssertInvalid(Reject("""{"model":"m","messages":[],"temperature":9}"""), "messages", null);
        AssertInvalid(Reject($$"""{"model":"m","messages":{{Messages}},"temperature":9,"n":0}"""), "temperature", "invalid_value");
    }

    [Fact]
    public void Property_names_are_case_sensitive()
    {
        AssertInvalid(Reject($$"""{"Model":"m","messages":{{Messages}}}"""), "model", "missing_required_parameter");
        // "Temperature" is an unknown field, passed through and not validated.
        Assert.Null(Parse($$"""{"model":"m","messages":{{Messages}},"Temperature":9}""").Temperature);
    }

    // ---- robustness ----

    /// <summary>Any input either parses or is rejected with a 4xx gateway error: never another exception (a 500).</summary>
    [Property(MaxTest = 500)]
    public bool Arbitrary_bytes_never_escape_as_another_exception(byte[] bytes) => ParsesOrRejectsWith4xx(bytes);

    [Property(MaxTest = 500)]
    public bool Arbitrary_strings_never_escape_as_another_exception(string? text) =>
        ParsesOrRejectsWith4xx(Encoding.UTF8.GetBytes(text ?? ""));

    [Property(MaxTest = 2000, Arbitrary = [typeof(JsonishRequests)])]
    public bool Json_shaped_requests_never_escape_as_another_exception(JsonishRequest request) =>
        ParsesOrRejectsWith4xx(Encoding.UTF8.GetBytes(request.Json));

    // ---- Inputs the JSON parser accepts but a later read would trip on: each must be a 400, never a 500.

    [Fact]
    public void Duplicate_property_names_are_a_400()
    {
        var error = Reject($$"""{"model":"a","model":"b","messages":{{Messages}}}""");
        AssertInvalid(error, null, "invalid_json");
        error = Reject(WithMessages("""[{"role":"user","role":"user","content":"hi"}]"""));
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Invalid_utf8_inside_a_string_is_a_400()
    {
        byte[] body = [.. "{\"model\":\""u8.ToArray(), 0xff, 0xfe, .. "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"u8.ToArray()];
        var error = Assert.Throws<GatewayException>(() => ChatRequestParser.Parse(body)).Error;
        AssertInvalid(error, null, "invalid_json");
    }

    [Fact]
    public void A_lone_surrogate_escape_is_a_400()
    {
        Assert.Equal(400, Reject($$"""{"model":"\ud800","messages":{{Messages}}}""").Status);
        Assert.Equal(400, Reject(WithMessages("""[{"role":"user","content":"\udc00"}]""")).Status);
        Assert.Equal(400, Reject(With("user", "\"\\ud800\"")).Status);
    }

    [Fact]
    public void A_non_string_tool_type_is_a_400()
    {
        AssertInvalid(Reject(With("tools", """[{"type":5,"function":{"name":"f"}}]""")), "tools[0].type", "invalid_type");
    }

    private static readonly byte[] ValidRequest = Encoding.UTF8.GetBytes("""
        {"model":"gpt-4o","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
         {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],
         "stream":true,"stream_options":{"include_usage":true},"temperature":1,"n":2,"max_tokens":10,"stop":["x"],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],
         "tool_choice":{"type":"function","function":{"name":"f"}},"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}},"logprobs":true,"top_logprobs":2}
        """);

    /// <summary>
    /// Valid requests with a few bytes overwritten, inserted or deleted (any byte: invalid UTF-8, duplicate keys,
    /// surrogate escapes and wrong types included).
    /// </summary>
    [Property(MaxTest = 3000)]
    public Property Mutated_valid_requests_never_escape_as_another_exception(NonEmptyArray<Tuple<NonNegativeInt, byte, byte>> edits)
    {
        var bytes = new List<byte>(ValidRequest);
        foreach (var (position, value, kind) in edits.Get.Take(4))
        {
            var at = position.Get % bytes.Count;
            var ascii = kind % 2 == 0 ? value : (byte)(value % 128);
            switch (kind % 3)
            {
                case 0: bytes[at] = ascii; break;
                case 1: bytes.Insert(at, ascii); break;
                default: if (bytes.Count > 1) bytes.RemoveAt(at); break;
            }
        }
        var body = bytes.ToArray();
        return new Func<bool>(() => ParsesOrRejectsWith4xx(body)).ToProperty();
    }

    private static bool ParsesOrRejectsWith4xx(byte[] bytes)
    {
        try
        {
            ChatRequestParser.Parse(bytes);
            return true;
        }
        catch (GatewayException ex)
        {
            return ex.Error.Status is >= 400 and < 500 && ex.Error.Type == "invalid_request_error";
        }
    }

    public sealed record JsonishRequest(string Json)
    {
        public override string ToString() => Json;
    }

    /// <summary>
    /// Requests built from the fields the parser knows with values of every JSON type, so that the
    /// generator reaches the validation rules instead of stopping at malformed JSON (strings include a lone
    /// surrogate escape).
    /// </summary>
    public static class JsonishRequests
    {
        private static readonly string[] Fields =
        [
            "model", "messages", "stream", "stream_options", "temperature", "top_p", "presence_penalty", "frequency_penalty",
            "n", "max_tokens", "max_completion_tokens", "seed", "logprobs", "top_logprobs", "parallel_tool_calls", "user",
            "logit_bias", "metadata", "stop", "tools", "tool_choice", "response_format", "x_unknown",
        ];

        private static readonly string[] MessageFields = ["role", "content", "tool_calls", "tool_call_id", "name", "function_call", "audio"];
        private static readonly string[] NestedFields = ["type", "text", "image_url", "url", "function", "name", "arguments", "id", "parameters", "json_schema", "schema", "include_usage"];
        private static readonly string[] Strings = ["user", "assistant", "tool", "system", "text", "image_url", "function", "custom", "json_schema", "json_object", "required", "auto", "none", "f", "", "ü", "\\u00e9\\n", "1e999", "\\ud800"];

        private static Gen<string> Scalar() => Gen.OneOf(
            Gen.Constant("null"), Gen.Constant("true"), Gen.Constant("false"),
            Gen.Elements(Strings).Select(s => "\"" + s + "\""),
            Arb.Default.Int64().Generator.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Arb.Default.NormalFloat().Generator.Select(f => ((double)f).ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Elements("1e400", "-1e400", "1.0", "2.5", "128", "129", "0", "-0", "9223372036854775808", "1e18", "0.0000001"));

        private static Gen<string> Value(int depth) => depth <= 0
            ? Scalar()
            : Gen.Frequency(
                Tuple.Create(3, Scalar()),
                Tuple.Create(1, Gen.ListOf(Gen.Resize(4, Value(depth - 1))).Select(items => "[" + string.Join(",", items) + "]")),
                Tuple.Create(2, Object(NestedFields, depth - 1)));

        /// <summary>An object with distinct keys drawn from <paramref name="fields"/> (duplicate keys are tested separately).</summary>
        private static Gen<string> Object(string[] fields, int depth, Gen<string>? values = null) =>
            Gen.SubListOf(fields)
               .SelectMany(keys => Gen.Sequence(keys.Select(k => (values ?? Value(depth)).Select(v => "\"" + k + "\":" + v))))
               .Select(props => "{" + string.Join(",", props) + "}");

        private static Gen<string> Message() =>
            Object(MessageFields, 2, Gen.Frequency(Tuple.Create(2, Gen.Elements(Strings).Select(s => "\"" + s + "\"")), Tuple.Create(2, Value(2))));

        public static Arbitrary<JsonishRequest> Requests()
        {
            var messages = Gen.ListOf(Gen.Resize(3, Gen.Frequency(Tuple.Create(4, Message()), Tuple.Create(1, Value(1))))).Select(ms => "\"messages\":[" + string.Join(",", ms) + "]");
            var fields = Gen.SubListOf(Fields.Where(f => f is not ("model" or "messages")).ToArray())
                .SelectMany(keys => Gen.Sequence(keys.Take(8).Select(k => Value(3).Select(v => "\"" + k + "\":" + v))));
            var gen = fields
                .SelectMany(_ => messages, (fs, m) => new List<string>(fs) { "\"model\":\"m\"", m })
                .SelectMany(parts => Gen.Shuffle(parts), (_, shuffled) => new JsonishRequest("{" + string.Join(",", shuffled) + "}"));
            return Arb.From(gen);
        }

    }
}
