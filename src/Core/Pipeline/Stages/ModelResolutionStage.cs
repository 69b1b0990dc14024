using Gateway.Core.Configuration;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>
/// Resolves the requested name or alias to a model of the catalog in force (404) and checks the key may use it (403).
/// The request keeps that catalog (<see cref="GatewayContext.Catalog"/>) to its end, whatever replaces it meanwhile.
/// </summary>
public sealed class ModelResolutionStage(IModelCatalogSource catalogs) : IGatewayStage
{
    public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        var catalog = catalogs.Current;
        var model = catalog.Resolve(request.Model);
        if (!model.IsAllowedBy(context.RequirePrincipal().AllowedModels)) throw Errors.Errors.ModelNotAllowed(request.Model);
        context.Catalog = catalog;
        context.Model = model;
        context.ResponseHeaders[GatewayHeaders.Model] = model.Name;
        return next(context);
    }
}
