namespace Gateway.Core.Configuration;

/// <summary>A public model name clients ask for, and the deployments that serve it.</summary>
public sealed class ModelOptions
{
    public string Name { get; set; } = "";
    public List<string> Aliases { get; set; } = [];
    /// <summary>Names of deployments (from the catalog's deployment list) that serve this model.</summary>
    public List<string> Deployments { get; set; } = [];
    /// <summary>Models to try, in order, when every deployment of this one fails.</summary>
    public List<string> Fallbacks { get; set; } = [];
    /// <summary>How requests spread over deployments of one priority: <c>weighted</c> (random by weight, the default),
    /// <c>least-busy</c> (fewest requests in flight per unit of weight) or <c>latency</c> (lowest recent latency).</summary>
    public string LoadBalancing { get; set; } = Routing.LoadBalancing.Weighted;
    /// <summary>Shown as <c>owned_by</c> in /v1/models.</summary>
    public string? OwnedBy { get; set; }
}
