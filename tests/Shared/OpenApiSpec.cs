using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Extensions;
using Microsoft.OpenApi.Models;
using Microsoft.OpenApi.Readers;

namespace Gateway.Docs;

/// <summary>
/// <c>docs/openapi.yaml</c>, read by Microsoft.OpenApi.Readers (which reports what does not follow OpenAPI 3.0) and
/// turned into JSON, so that bodies can be checked against its schemas: <see cref="Validate"/> checks the part of
/// OpenAPI 3.0's schema language the document uses ($ref, type, nullable, properties, required, additionalProperties,
/// items, enum, oneOf/anyOf/allOf, minimum, pattern). Used by the docs tests (the document's own examples) and by the
/// end-to-end docs examples (every real answer a documented example gets).
/// </summary>
public sealed class OpenApiSpec
{
    private OpenApiSpec(OpenApiDocument document, IReadOnlyList<string> errors, JsonObject json)
    {
        Document = document;
        Errors = errors;
        Json = json;
    }

    public OpenApiDocument Document { get; }

    /// <summary>What the reader found wrong: parse errors and OpenAPI's validation rules.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>The document as JSON, references kept as <c>$ref</c>.</summary>
    public JsonObject Json { get; }

    public static string DocsDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return Path.Combine(dir.FullName, "docs");
            }

            throw new InvalidOperationException("the repository root (Serverless.sln) was not found above " + AppContext.BaseDirectory);
        }
    }

    public static OpenApiSpec Load(string? path = null)
    {
        path ??= Path.Combine(DocsDirectory, "openapi.yaml");
        using var stream = File.OpenRead(path);
        var document = new OpenApiStreamReader().Read(stream, out var diagnostic);
        var errors = diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}").ToList();
        var json = (JsonObject)JsonNode.Parse(document.SerializeAsJson(OpenApiSpecVersion.OpenApi3_0))!;
        return new OpenApiSpec(document, errors, json);
    }

    /// <summary>Every (METHOD, path template) the document describes, e.g. ("GET", "/v1/models/{id}").</summary>
    public IEnumerable<(string Method, string Path)> Operations() =>
        from path in Json["paths"]!.AsObject()
        from op in path.Value!.AsObject()
        where Methods.Contains(op.Key)
        select (op.Key.ToUpperInvariant(), path.Key);

    private static readonly HashSet<string> Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    /// <summary>The operation a concrete request path answers to: the template whose literal segments match it.</summary>
    public (string Template, JsonObject Operation)? Find(string method, string requestPath)
    {
        var segments = requestPath.Split('?')[0].Trim('/').Split('/');
        foreach (var (template, item) in Json["paths"]!.AsObject())
        {
            if (item![method.ToLowerInvariant()] is not JsonObject operation) continue;
            var parts = template.Trim('/').Split('/');
            if (Matches(parts, segments)) return (template, operation);
        }

        return null;
    }

    private static bool Matches(string[] template, string[] path)
    {
        if (template.Length != path.Length) return false;
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i].StartsWith('{') && template[i].EndsWith('}')) continue;
            if (!string.Equals(template[i], path[i], StringComparison.Ordinal)) return false;
        }

        return true;
    }

    /// <summary>The schema of an operation's answer with this status and media type (or the <c>default</c> answer's), if documented.</summary>
    public JsonNode? ResponseSchema(JsonObject operation, int status, string mediaType, out bool statusDocumented)
    {
        var responses = operation["responses"]!.AsObject();
        var response = Resolve(responses[status.ToString(CultureInfo.InvariantCulture)] ?? responses["default"]);
        statusDocumented = response is not null;
        return response?["content"]?[mediaType]?["schema"];
    }

    /// <summary>Follows a local <c>$ref</c> (<c>#/components/…</c>).</summary>
    public JsonNode? Resolve(JsonNode? node)
    {
        for (var depth = 0; node is JsonObject o && o["$ref"] is JsonValue r && depth < 32; depth++)
        {
            var pointer = ((string)r!).TrimStart('#').Trim('/').Split('/');
            JsonNode? target = Json;
            foreach (var part in pointer) target = target?[part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
            node = target ?? throw new InvalidOperationException($"unresolved reference {(string)r!}");
        }

        return node;
    }

    /// <summary>What in <paramref name="value"/> does not follow <paramref name="schema"/>, each with its JSON path; empty when it does.</summary>
    public List<string> Validate(JsonNode? schema, JsonNode? value, string path = "$")
    {
        var errors = new List<string>();
        Check(schema, value, path, errors);
        return errors;
    }

    private void Check(JsonNode? schemaNode, JsonNode? value, string path, List<string> errors)
    {
        if (Resolve(schemaNode) is not JsonObject schema) return;
        if (value is null)
        {
            if (schema["nullable"]?.GetValue<bool>() != true && schema["type"] is not null) errors.Add($"{path}: null where the schema does not allow it");
            return;
        }

        if (schema["allOf"] is JsonArray allOf)
            foreach (var part in allOf) Check(part, value, path, errors);
        if (schema["oneOf"] is JsonArray oneOf)
        {
            var matching = oneOf.Count(part => Validate(part, value, path).Count == 0);
            if (matching != 1) errors.Add($"{path}: matches {matching} of the oneOf schemas, not exactly one");
        }

        if (schema["anyOf"] is JsonArray anyOf && !anyOf.Any(part => Validate(part, value, path).Count == 0))
            errors.Add($"{path}: matches none of the anyOf schemas");

        if (schema["type"] is JsonValue typeNode)
        {
            var type = (string)typeNode!;
            var kind = value.GetValueKind();
            var ok = type switch
            {
                "object" => kind == System.Text.Json.JsonValueKind.Object,
                "array" => kind == System.Text.Json.JsonValueKind.Array,
                "string" => kind == System.Text.Json.JsonValueKind.String,
                "boolean" => kind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
                "number" => kind == System.Text.Json.JsonValueKind.Number,
                "integer" => kind == System.Text.Json.JsonValueKind.Number && decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == decimal.Truncate(d),
                _ => throw new InvalidOperationException($"{path}: the schema names an unknown type '{type}'"),
            };
            if (!ok)
            {
                errors.Add($"{path}: {kind} where the schema says {type}");
                return;
            }
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
            errors.Add($"{path}: {value.ToJsonString()} is not one of {values.ToJsonString()}");
        if (schema["minimum"] is JsonValue min && value.GetValueKind() == System.Text.Json.JsonValueKind.Number && value.GetValue<decimal>() < min.GetValue<decimal>())
            errors.Add($"{path}: {value.ToJsonString()} is below the minimum {min.ToJsonString()}");
        if (schema["pattern"] is JsonValue pattern && value.GetValueKind() == System.Text.Json.JsonValueKind.String
            && !System.Text.RegularExpressions.Regex.IsMatch((string)value!, (string)pattern!, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)))
            errors.Add($"{path}: '{(string)value!}' does not match {(string)pattern!}");

        if (value is JsonObject obj)
        {
            var properties = schema["properties"] as JsonObject;
            if (schema["required"] is JsonArray required)
                foreach (var name in required.Select(r => (string)r!))
                    if (!obj.ContainsKey(name)) errors.Add($"{path}: the required property '{name}' is missing");
            foreach (var (name, child) in obj)
            {
                if (properties?[name] is { } propertySchema) Check(propertySchema, child, $"{path}.{name}", errors);
                else if (schema["additionalProperties"] is JsonValue allowed && !allowed.GetValue<bool>()) errors.Add($"{path}: the property '{name}' is not in the schema");
                else if (schema["additionalProperties"] is JsonObject additional) Check(additional, child, $"{path}.{name}", errors);
            }
        }
        else if (value is JsonArray array && schema["items"] is { } items)
        {
            for (var i = 0; i < array.Count; i++) Check(items, array[i], $"{path}[{i}]", errors);
        }
    }
}
