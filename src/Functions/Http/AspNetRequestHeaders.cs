using Gateway.Core.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Functions.Http;

/// <summary>Exposes ASP.NET Core request headers to Core.</summary>
public sealed class AspNetRequestHeaders(IHeaderDictionary headers) : IRequestHeaders
{
    public string? Get(string name) => headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;
}
