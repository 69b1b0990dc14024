using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Docs;

namespace Gateway.EndToEnd.Tests;

/// <summary>
/// Every example in docs/*.md, run on the real host: each ```http request block is sent as written (variables
/// substituted), and the answer must match the ```http answer block after it — status, headers, body pattern — and
/// follow docs/openapi.yaml (its status documented for the route, its JSON body valid against that response's schema).
/// The convention is written on <see cref="DocExamples"/> and in docs/README.md. One test case per file, so a failure
/// names the page; the examples of a file run in order and share variables (a key created by one is revoked by the next).
/// </summary>
[Collection(HostCollection.Name)]
public sealed class DocsExamplesTests(HostFixture fixture)
{
    private static List<string> PageNames() =>
        DocExamples.Files().Where(f => DocExamples.Parse(f).Count > 0).Select(f => Path.GetFileName(f)).ToList();

    public static TheoryData<string> Pages() => new(PageNames());

    [Fact]
    public void The_docs_have_examples_to_run()
    {
        // the pages this suite writes; a page that lost its examples would otherwise drop out of the theory silently
        Assert.Subset(PageNames().ToHashSet(), new HashSet<string> { "architecture.md", "operations.md", "troubleshooting.md" });
    }

    [HostTheory]
    [MemberData(nameof(Pages))]
    public async Task Every_example_of_the_page_gets_the_answer_it_shows(string page)
    {
        var spec = OpenApiSpec.Load();
        var variables = await StartingVariablesAsync();
        var examples = DocExamples.Parse(Path.Combine(OpenApiSpec.DocsDirectory, page));
        var failures = new List<string>();
        foreach (var example in examples)
        {
            var problems = await RunAsync(example, spec, variables);
            if (problems.Count > 0) failures.Add($"{example}:{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", problems));
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {examples.Count} examples of {page} did not get the answer shown:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>adminKey, and a fresh gateway key (team docs, user docs-user) created through the admin API.</summary>
    private async Task<Dictionary<string, string>> StartingVariablesAsync()
    {
        var created = await fixture.AdminAsync(HttpMethod.Post, "gateway/keys", """{"name":"docs examples","user":"docs-user","team":"docs"}""");
        Assert.True(created.Status == 201 || created.Status == 200, created.ToString());
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["adminKey"] = HostFixture.AdminKey,
            ["key"] = (string)created.Json!["key"]!,
            ["keyId"] = (string)created.Json!["id"]!,
        };
    }

    private async Task<List<string>> RunAsync(DocExamples.Example example, OpenApiSpec spec, Dictionary<string, string> variables)
    {
        if (example.Response.Within is not { } within) return await RunOnceAsync(example, spec, variables);
        if (example.Request.Method != "GET") return [$"only a GET may be repeated until its answer matches ('eventually'), not {example.Request.Method}"];
        // what the queues and timers produce: asked again until it is there (captures are kept from the matching answer only)
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var trial = new Dictionary<string, string>(variables, StringComparer.Ordinal);
            var problems = await RunOnceAsync(example, spec, trial);
            if (problems.Count == 0 || DateTime.UtcNow > deadline)
            {
                foreach (var (name, value) in trial) variables[name] = value;
                return problems;
            }

            await Task.Delay(1000);
        }
    }

    private async Task<List<string>> RunOnceAsync(DocExamples.Example example, OpenApiSpec spec, Dictionary<string, string> variables)
    {
        var where = example.ToString();
        var target = DocExamples.Substitute(example.Request.Target, variables, where);
        using var request = new HttpRequestMessage(new HttpMethod(example.Request.Method), target.TrimStart('/'));
        var body = DocExamples.Substitute(example.Request.Body, variables, where);
        string? contentType = null;
        foreach (var (name, raw) in example.Request.Headers)
        {
            var value = DocExamples.Substitute(raw, variables, where);
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) contentType = value;
            else if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body.Length > 0 || contentType is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var status = (int)response.StatusCode;
        // DOCS_EXAMPLES_DUMP=<file>: the real answers, appended, for whoever writes an example
        if (Environment.GetEnvironmentVariable("DOCS_EXAMPLES_DUMP") is { Length: > 0 } dump)
            await File.AppendAllTextAsync(dump, $"### {where}{Environment.NewLine}{status} {string.Join("; ", headers.Select(h => h.Key + ": " + h.Value))}{Environment.NewLine}{text}{Environment.NewLine}");
        if (status != example.Response.Status) problems.Add($"status {status}, not {example.Response.Status}: {Cut(text)}");
        foreach (var (name, expected) in example.Response.Headers)
        {
            if (DocExamples.MatchHeader(name, expected, headers.GetValueOrDefault(name), variables) is { } problem) problems.Add(problem);
        }

        if (problems.Count == 0) problems.AddRange(DocExamples.MatchBody(example.Response.Body, text, variables, response.Content.Headers.ContentType?.MediaType));

        // the answer as the OpenAPI document describes it
        var operation = spec.Find(example.Request.Method, target);
        if (operation is null) problems.Add($"docs/openapi.yaml has no operation for {example.Request.Method} {target.Split('?')[0]}");
        else
        {
            var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
            var schema = spec.ResponseSchema(operation.Value.Operation, status, mediaType, out var documented);
            if (!documented) problems.Add($"docs/openapi.yaml does not document status {status} for {example.Request.Method} {operation.Value.Template}");
            else if (mediaType == "application/json" && text.Length > 0)
            {
                if (schema is null) problems.Add($"docs/openapi.yaml gives no application/json schema for {status} on {example.Request.Method} {operation.Value.Template}");
                else problems.AddRange(spec.Validate(schema, JsonNode.Parse(text)).Select(e => $"against docs/openapi.yaml ({status} {example.Request.Method} {operation.Value.Template}): {e}"));
            }
        }

        return problems;
    }

    private static string Cut(string s) => s.Length > 600 ? s[..600] + "…" : s;
}

/// <summary>A theory that needs the Functions host: skipped, with the reason, where none can be found.</summary>
public sealed class HostTheoryAttribute : TheoryAttribute
{
    public HostTheoryAttribute()
    {
        if (FunctionsHost.Missing is { } why) Skip = why;
    }
}
