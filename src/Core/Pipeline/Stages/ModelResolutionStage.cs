using Gateway.Core.Configuration;

namespace Gateway.Core.Pipeline.Stages;

/// <summary>Resolves the requested name or alias to a catalog model (404) and checks the key may use it (403).</summary>
public sealed class ModelResolutionStage(ModelCatalog catalog) : IGatewayStage
{
    public ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var request = context.RequireRequest();
        var model = catalog.Resolve(request.Model);
        if (!model.IsAllowedBy(context.RequirePrincipal().AllowedModels)) throw Errors.Errors.ModelNotAllowed(request.Model);
        context.Model = model;
        context.ResponseHeaders[GatewayHeaders.Model] = model.Name;
        return next(context);
    }
}
