using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Core.Configuration;

/// <summary>
/// The model catalog as a JSON document: the shape of the <c>Catalog</c> section of catalog.json
/// (<c>{"Deployments":[…],"Models":[…]}</c>, field names as in the settings, in any case). Reading checks the shape
/// before anything is bound and lists every problem with its path (<c>Deployments:1:Weight</c>): a field the catalog
/// does not have (a misspelt one would silently be its default), a value of the wrong type, a missing list. What the
/// values mean is <see cref="CatalogValidator"/>'s to check.
/// </summary>
public static class CatalogDocument
{
    private static readonly JsonSerializerOptions s_read = new() { PropertyNameCaseInsensitive = true };

    // computed properties (DeploymentPricingOptions.HasExplicitPrices) are not fields of the document
    private static readonly JsonSerializerOptions s_write = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        IgnoreReadOnlyProperties = true,
    };

    private static readonly NullabilityInfoContext s_nullability = new();

    /// <summary>Reads <paramref name="json"/>; throws <see cref="CatalogException"/> listing every problem of its shape.</summary>
    public static CatalogOptions Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false,
            });
        }
        catch (JsonException ex)
        {
            throw new CatalogException([$"The document is not valid JSON ({ex.Message.Split('.')[0]})."]);
        }

        if (root is not JsonObject document) throw new CatalogException(["The document must be a JSON object with Deployments and Models (the Catalog section of catalog.json)."]);
        var errors = new List<string>();
        if (document.Count == 1 && (document.ContainsKey("Gateway") || document.ContainsKey("Catalog")))
            errors.Add($"The document is the catalog section itself ({{\"Deployments\":[…],\"Models\":[…]}}), without the '{document.First().Key}' around it.");
        else Check(document, typeof(CatalogOptions), "", errors);
        foreach (var list in new[] { nameof(CatalogOptions.Deployments), nameof(CatalogOptions.Models) })
        {
            if (errors.Count == 0 && !document.Any(p => string.Equals(p.Key, list, StringComparison.OrdinalIgnoreCase))) errors.Add($"{list} is missing.");
        }

        if (errors.Count > 0) throw new CatalogException(errors);
        try
        {
            return root.Deserialize<CatalogOptions>(s_read) ?? throw new CatalogException(["The document is empty."]);
        }
        catch (JsonException ex)
        {
            // the shape check above should leave nothing for the binder to refuse; should it, the document is still refused, not a 500
            throw new CatalogException([$"The document could not be read ({ex.Message.Split('.')[0]})."]);
        }
    }

    /// <summary>The catalog as a document of the same shape (fields that are not set left out); reading it back gives the same catalog.</summary>
    public static JsonObject ToJson(CatalogOptions catalog) => JsonSerializer.SerializeToNode(catalog, s_write)!.AsObject();

    private static void Check(JsonNode? node, Type type, string path, List<string> errors, bool nullable = false)
    {
        if (node is null)
        {
            if (!nullable && Nullable.GetUnderlyingType(type) is null) errors.Add($"{Name(path)} must not be null.");
            return;
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            if (node.GetValueKind() != JsonValueKind.String) errors.Add($"{Name(path)} must be a string, not {Kind(node)}.");
        }
        else if (type == typeof(bool))
        {
            if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)) errors.Add($"{Name(path)} must be true or false, not {Kind(node)}.");
        }
        else if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(decimal))
        {
            var whole = type == typeof(int) || type == typeof(long);
            if (node.GetValueKind() != JsonValueKind.Number) errors.Add($"{Name(path)} must be a {(whole ? "whole number" : "number")}, not {Kind(node)}.");
            else
            {
                try
                {
                    // 1e400 reads as infinity, which no setting means
                    if (node.Deserialize(type) is double d && !double.IsFinite(d)) throw new OverflowException();
                }
                catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or InvalidOperationException)
                {
                    var text = node.ToJsonString();
                    errors.Add(whole && text.IndexOfAny(['.', 'e', 'E']) >= 0
                        ? $"{Name(path)} must be a whole number (was {text})."
                        : $"{Name(path)} is out of range (was {text}).");
                }
            }
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            if (node is not JsonArray array)
            {
                errors.Add($"{Name(path)} must be a list, not {Kind(node)}.");
                return;
            }

            var element = type.GetGenericArguments()[0];
            for (var i = 0; i < array.Count; i++) Check(array[i], element, Join(path, i.ToString(CultureInfo.InvariantCulture)), errors);
        }
        else if (type.IsClass && !typeof(IEnumerable).IsAssignableFrom(type))
        {
            if (node is not JsonObject obj)
            {
                errors.Add($"{(path.Length == 0 ? "The document" : path)} must be an object, not {Kind(node)}.");
                return;
            }

            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic).ToList();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in obj)
            {
                var at = Join(path, name);
                var property = properties.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
                if (property is null)
                {
                    errors.Add($"{at} is not a field of {Describe(type)} (fields: {string.Join(", ", properties.Select(p => p.Name))}).");
                    continue;
                }

                if (!seen.Add(property.Name))
                {
                    errors.Add($"{at}: {property.Name} is given twice.");
                    continue;
                }

                Check(value, property.PropertyType, at, errors, s_nullability.Create(property).WriteState == NullabilityState.Nullable);
            }
        }
        else
        {
            throw new InvalidOperationException($"The catalog has a field of type {type.Name} the document reader does not know.");
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + ":" + name;

    private static string Name(string path) => path.Length == 0 ? "The document" : path;

    private static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "null",
    };

    private static string Describe(Type type) => type.Name switch
    {
        nameof(CatalogOptions) => "the catalog",
        nameof(DeploymentOptions) => "a deployment",
        nameof(ModelOptions) => "a model",
        nameof(DeploymentPricingOptions) => "a deployment's Pricing",
        nameof(VolumeTierOptions) => "a volume tier",
        _ => type.Name,
    };
}
