namespace Gateway.Core.Configuration;

/// <summary>The model catalog as configured (section <c>Gateway:Catalog</c>, from catalog.json and app settings).</summary>
public sealed class CatalogOptions
{
    public List<DeploymentOptions> Deployments { get; set; } = [];
    public List<ModelOptions> Models { get; set; } = [];
}
