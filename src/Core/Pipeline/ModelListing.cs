using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;

namespace Gateway.Core.Pipeline;

/// <summary>The OpenAI <c>/v1/models</c> list: the models (and aliases) the caller's key may use.</summary>
public static class ModelListing
{
    public static JsonObject For(GatewayPrincipal principal, ModelCatalog catalog, DateTimeOffset created)
    {
        var data = new JsonArray();
        foreach (var model in catalog.Models.Where(m => m.IsAllowedBy(principal.AllowedModels)))
        {
            foreach (var id in model.Aliases.Prepend(model.Name))
                data.Add(Entry(id, model, created));
        }
        return new JsonObject { ["object"] = "list", ["data"] = data };
    }

    public static JsonObject One(GatewayPrincipal principal, ModelCatalog catalog, string id, DateTimeOffset created)
    {
        if (!catalog.TryResolve(id, out var model) || !model.IsAllowedBy(principal.AllowedModels)) throw Errors.Errors.ModelNotFound(id);
        return Entry(id, model, created);
    }

    private static JsonObject Entry(string id, CatalogModel model, DateTimeOffset created) => new()
    {
        ["id"] = id,
        ["object"] = "model",
        ["created"] = created.ToUnixTimeSeconds(),
        ["owned_by"] = model.OwnedBy,
    };
}
