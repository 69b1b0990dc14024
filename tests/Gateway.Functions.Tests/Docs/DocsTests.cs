using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.Docs;
using Microsoft.Azure.Functions.Worker;

namespace Gateway.Functions.Tests.Docs;

/// <summary>
/// docs/ against the code: the OpenAPI document describes exactly the HTTP routes the Functions app has (both ways), is
/// valid OpenAPI 3.0 and its examples follow its schemas; the architecture diagrams name only stages and functions that
/// exist, the stages in the order the runtime builds them, and every background function. The examples of the markdown
/// pages are run on the real host by the end-to-end DocsExamplesTests; here each page is checked to follow the
/// convention (see <see cref="DocExamples"/>).
/// </summary>
public sealed partial class DocsTests
{
    private static readonly Assembly Functions = typeof(ChatCompletionsFunction).Assembly;

    private static IEnumerable<(string Name, MethodInfo Method)> FunctionMethods() =>
        from type in Functions.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        where function is not null
        select (function.Name, method);

    private static T? Trigger<T>(MethodInfo method) where T : Attribute =>
        method.GetParameters().Select(p => p.GetCustomAttribute<T>()).FirstOrDefault(a => a is not null);

    /// <summary>(METHOD, /path) of every HTTP function; a catch-all <c>{*id}</c> is both the path without it and with <c>{id}</c>.</summary>
    private static HashSet<(string, string)> CodeRoutes()
    {
        var routes = new HashSet<(string, string)>();
        foreach (var (_, method) in FunctionMethods())
        {
            if (Trigger<HttpTriggerAttribute>(method) is not { } http) continue;
            var route = "/" + http.Route!.Trim('/');
            var catchAll = CatchAll().Match(route);
            var paths = catchAll.Success ? new[] { route[..catchAll.Index], route[..catchAll.Index] + "/{" + catchAll.Groups["name"].Value + "}" } : [route];
            foreach (var verb in http.Methods!)
            foreach (var path in paths)
                routes.Add((verb.ToUpperInvariant(), path));
        }

        return routes;
    }

    [GeneratedRegex(@"/\{\*(?<name>\w+)\}$")]
    private static partial Regex CatchAll();

    [Fact]
    public void The_OpenAPI_document_describes_every_route_of_the_app_and_no_other()
    {
        var code = CodeRoutes();
        var documented = OpenApiSpec.Load().Operations().ToHashSet();
        Assert.True(code.Count > 40, $"only {code.Count} routes found by reflection");
        Assert.Empty(code.Except(documented).Select(r => $"{r.Item1} {r.Item2} is in the code but not in docs/openapi.yaml"));
        Assert.Empty(documented.Except(code).Select(r => $"{r.Item1} {r.Item2} is in docs/openapi.yaml but not in the code"));
    }

    [Fact]
    public void The_OpenAPI_document_is_valid_OpenAPI_3_0_with_schemes_errors_and_an_example_per_operation()
    {
        var spec = OpenApiSpec.Load();
        Assert.Empty(spec.Errors);
        Assert.StartsWith("3.0.", (string?)spec.Json["openapi"], StringComparison.Ordinal);
        var schemes = spec.Json["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("bearer", (string?)schemes["gatewayKey"]!["scheme"]);
        Assert.Equal("x-admin-key", (string?)schemes["adminKey"]!["name"]);
        var error = spec.Json["components"]!["schemas"]!["Error"]!;
        Assert.Equal(["message", "type", "param", "code"], error["properties"]!["error"]!["required"]!.AsArray().Select(p => (string?)p));

        var problems = new List<string>();
        foreach (var (path, item) in spec.Json["paths"]!.AsObject())
        foreach (var (verb, op) in item!.AsObject().Where(o => o.Value is JsonObject && o.Key != "parameters"))
        {
            var where = $"{verb.ToUpperInvariant()} {path}";
            if (op!["operationId"] is null) problems.Add($"{where}: no operationId");
            // `security: []` (anonymous) is left out of the JSON form: only the routes that take no key may lack it
            if (op["security"] is null && !Anonymous.Contains(where)) problems.Add($"{where}: no security scheme (only {string.Join(", ", Anonymous)} are anonymous)");
            if (op["security"] is not null && Anonymous.Contains(where)) problems.Add($"{where}: takes no key, but the document names a security scheme");
            var responses = op["responses"]!.AsObject().Select(r => (r.Key, Response: spec.Resolve(r.Value)!)).ToList();
            if (!responses.Any(r => r.Response["content"]?.AsObject().Any(m => m.Value!["example"] is not null || m.Value!["examples"] is not null) == true))
                problems.Add($"{where}: no response has an example");
            // every error answer is OpenAI's error body (but readiness: its 503 is the readiness report, for probes)
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5' && where != "GET /health/ready"))
                if (response["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>() != "#/components/schemas/Error")
                    problems.Add($"{where}: the {status} answer is not the Error schema");
        }

        Assert.Empty(problems);
    }

    /// <summary>The routes that take no key (the probes, the dashboard's page, assets and session routes).</summary>
    private static readonly HashSet<string> Anonymous =
    [
        "GET /health", "GET /health/ready", "GET /gateway/dashboard", "GET /gateway/dashboard/assets/{name}",
        "POST /gateway/dashboard/session", "GET /gateway/dashboard/session", "DELETE /gateway/dashboard/session",
    ];

    [Fact]
    public void Every_example_in_the_OpenAPI_document_follows_its_schema()
    {
        var spec = OpenApiSpec.Load();
        var checkedExamples = 0;
        var problems = new List<string>();
        foreach (var (path, item) in spec.Json["paths"]!.AsObject())
        foreach (var (verb, op) in item!.AsObject().Where(o => o.Value is JsonObject && o.Key != "parameters"))
        {
            var contents = new List<(string Where, JsonNode? Content)>();
            if (spec.Resolve(op!["requestBody"]) is JsonObject body) contents.Add(($"{verb.ToUpperInvariant()} {path} request", body["content"]));
            foreach (var (status, response) in op["responses"]!.AsObject())
                contents.Add(($"{verb.ToUpperInvariant()} {path} {status}", spec.Resolve(response)!["content"]));
            foreach (var (where, content) in contents)
            foreach (var (mediaType, media) in content?.AsObject() ?? [])
            {
                var examples = new List<(string, JsonNode?)>();
                if (media!.AsObject().TryGetPropertyValue("example", out var single)) examples.Add(("example", single));
                foreach (var (name, example) in media["examples"]?.AsObject() ?? []) examples.Add((name, spec.Resolve(example)!["value"]));
                foreach (var (name, value) in examples)
                {
                    checkedExamples++;
                    if (!mediaType.Contains("json", StringComparison.Ordinal)) continue;
                    problems.AddRange(spec.Validate(media["schema"], value).Select(e => $"{where} {mediaType} {name}: {e}"));
                }
            }
        }

        Assert.True(checkedExamples > 50, $"only {checkedExamples} examples in the document");
        Assert.Empty(problems);
    }

    [Fact]
    public void The_validator_refuses_what_its_schema_does_not_allow()
    {
        // the examples' check is only worth something if a wrong example fails it
        var spec = OpenApiSpec.Load();
        var error = JsonNode.Parse("""{"$ref":"#/components/schemas/Error"}""");
        Assert.Empty(spec.Validate(error, JsonNode.Parse("""{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"invalid_json"}}""")));
        Assert.NotEmpty(spec.Validate(error, JsonNode.Parse("""{"error":{"message":3,"type":"t","param":null,"code":null}}""")));
        Assert.NotEmpty(spec.Validate(error, JsonNode.Parse("""{"error":{"type":"t","param":null,"code":null}}""")));
        Assert.NotEmpty(spec.Validate(error, JsonNode.Parse("""[]""")));
    }

    [Fact]
    public void Every_docs_page_follows_the_examples_convention()
    {
        var pages = DocExamples.Files().ToList();
        Assert.Contains(pages, p => p.EndsWith("operations.md", StringComparison.Ordinal));
        var spec = OpenApiSpec.Load();
        foreach (var page in pages)
        foreach (var example in DocExamples.Parse(page))
        {
            // every example's route is one the OpenAPI document (and so the app) has
            Assert.True(spec.Find(example.Request.Method, example.Request.Target) is not null, $"{example}: no such route in docs/openapi.yaml");
            // a one-line body in braces is a JSON pattern (JSON Lines, SSE and the like take several lines)
            if (example.Response.Body is ['{', ..] or ['[', ..] && !example.Response.Body.Contains('\n', StringComparison.Ordinal))
            {
                // a JSON pattern must be JSON, and must not be a bare {} that matches anything
                var pattern = JsonNode.Parse(example.Response.Body);
                Assert.True(pattern is not JsonObject { Count: 0 }, $"{example}: an empty expected body checks nothing");
            }
        }
    }

    [Fact]
    public void Every_route_has_an_example_in_the_docs_that_the_end_to_end_tests_run()
    {
        var spec = OpenApiSpec.Load();
        var shown = DocExamples.Files().SelectMany(DocExamples.Parse)
            .Select(e => spec.Find(e.Request.Method, e.Request.Target) is { } op ? (e.Request.Method, op.Template) : default)
            .ToHashSet();
        Assert.Empty(spec.Operations().Where(op => !shown.Contains(op)).Select(op => $"{op.Method} {op.Path} has no http example in docs/*.md"));
    }

    [Fact]
    public void The_pattern_matcher_compares_what_the_examples_show()
    {
        var vars = new Dictionary<string, string>();
        Assert.Empty(DocExamples.MatchBody("""{"id":"{{id}}","object":"list","data":[{"n":1},{"n":3}]}""", """{"id":"k1","object":"list","data":[{"n":1},{"n":2},{"n":3}],"x":0}""", vars));
        Assert.Equal("k1", vars["id"]);
        Assert.NotEmpty(DocExamples.MatchBody("""{"id":"{{id}}"}""", """{"id":"k2"}""", vars));
        Assert.NotEmpty(DocExamples.MatchBody("""{"data":[{"n":3},{"n":1}]}""", """{"data":[{"n":1},{"n":3}]}""", vars));
        Assert.NotEmpty(DocExamples.MatchBody("""{"object":"chat.completion"}""", """{"object":"list"}""", vars));
        Assert.NotEmpty(DocExamples.MatchBody("""{"n":1}""", """{"n":2}""", vars));
        Assert.NotEmpty(DocExamples.MatchBody("""{"data":[]}""", """{"data":[1]}""", vars));
        Assert.Empty(DocExamples.MatchBody("""{"id":"chatcmpl-…","created":"…"}""", """{"id":"chatcmpl-abc","created":17}""", vars));
        Assert.NotEmpty(DocExamples.MatchBody("""{"id":"chatcmpl-…"}""", """{"id":"resp-abc"}""", vars));
        Assert.Empty(DocExamples.MatchBody("data: {\"object\":\"chat.completion.chunk\",…}\ndata: [DONE]", "data: {\"object\":\"chat.completion.chunk\",\"a\":1}\n\ndata: {\"object\":\"chat.completion.chunk\"}\n\ndata: [DONE]\n", vars, "text/event-stream"));
        Assert.NotEmpty(DocExamples.MatchBody("data: [DONE]\ndata: {…}", "data: {}\ndata: [DONE]", vars, "text/event-stream"));
        Assert.Empty(DocExamples.MatchBody("{\"format\":\"x\"}\n{\"entry\":…", "{\"format\":\"x\"}\n{\"entry\":1}\n", vars, "application/x-ndjson"));
    }

    // ---- the architecture diagrams ----

    private static string Architecture() => File.ReadAllText(Path.Combine(OpenApiSpec.DocsDirectory, "architecture.md"));

    private static List<string> MermaidBlocks() =>
        MermaidBlock().Matches(Architecture()).Select(m => m.Groups["body"].Value).ToList();

    [GeneratedRegex(@"```mermaid\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex MermaidBlock();

    /// <summary>Node ids: <c>stage_&lt;class&gt;</c> for a pipeline stage, <c>fn_&lt;function name&gt;</c> for a function.</summary>
    [GeneratedRegex(@"\bstage_(?<name>\w+)")]
    private static partial Regex StageNode();

    [GeneratedRegex(@"\bfn_(?<name>\w+)(?<label>\s*(\[\[|\[\(|\[\/|\[|\(\(|\(|\{\{|\{)""?(?<text>[^""\]\)\}]*))?")]
    private static partial Regex FunctionNode();

    /// <summary>The stage classes in the order GatewayRuntime builds them (read from its source: one stage is there only when content is logged).</summary>
    private static List<string> RuntimeStages()
    {
        var root = Path.GetDirectoryName(OpenApiSpec.DocsDirectory)!;
        var source = File.ReadAllText(Path.Combine(root, "src", "Core", "Hosting", "GatewayRuntime.cs"));
        var list = source[source.IndexOf("IGatewayStage?[] stages", StringComparison.Ordinal)..];
        list = list[..list.IndexOf("];", StringComparison.Ordinal)];
        return Regex.Matches(list, @"new (?:[\w.]+\.)?(?<name>\w+Stage)\(").Select(m => m.Groups["name"].Value).ToList();
    }

    [Fact]
    public void The_request_path_diagram_shows_the_runtime_s_stages_in_order()
    {
        var stages = RuntimeStages();
        Assert.True(stages.Count >= 12, string.Join(", ", stages));
        var coreStages = typeof(Gateway.Core.Pipeline.IGatewayStage).Assembly.GetTypes()
            .Where(t => typeof(Gateway.Core.Pipeline.IGatewayStage).IsAssignableFrom(t) && !t.IsAbstract).Select(t => t.Name).ToHashSet();
        Assert.Subset(coreStages, stages.ToHashSet());

        var diagram = MermaidBlocks().Single(b => b.Contains("stage_", StringComparison.Ordinal));
        var shown = StageNode().Matches(diagram).Select(m => m.Groups["name"].Value).Distinct().ToList();
        Assert.Equal(stages, shown);
    }

    [Fact]
    public void The_diagrams_name_only_functions_that_exist_and_show_every_background_function_with_its_trigger()
    {
        var functions = FunctionMethods().ToDictionary(f => f.Name, f => f.Method);
        var blocks = MermaidBlocks();
        var named = blocks.SelectMany(b => FunctionNode().Matches(b)).ToList();
        Assert.NotEmpty(named);
        Assert.Empty(named.Select(m => m.Groups["name"].Value).Where(n => !functions.ContainsKey(n)).Distinct().Select(n => $"fn_{n} is not a [Function] of the app"));

        var background = blocks.Single(b => b.Contains("fn_WriteUsage", StringComparison.Ordinal));
        var labels = FunctionNode().Matches(background).Where(m => m.Groups["text"].Success && m.Groups["text"].Value.Length > 0)
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["text"].Value);
        var problems = new List<string>();
        foreach (var (name, method) in functions)
        {
            if (Trigger<HttpTriggerAttribute>(method) is not null) continue;
            if (!labels.TryGetValue(name, out var label)) { problems.Add($"{name} is not in the background diagram (as fn_{name}[\"…\"])"); continue; }
            // the label says what triggers it: the timer's schedule setting, the queue's name, or that it is an entity
            var expected = Trigger<TimerTriggerAttribute>(method) is { } timer ? "timer " + timer.Schedule
                : Trigger<QueueTriggerAttribute>(method) is { } queue ? "queue " + queue.QueueName
                : Trigger<EntityTriggerAttribute>(method) is not null ? "entity " + name
                : "?";
            if (!label.Contains(expected, StringComparison.Ordinal)) problems.Add($"fn_{name}'s label '{label}' does not say '{expected}'");
        }

        Assert.Empty(problems);
    }
}
