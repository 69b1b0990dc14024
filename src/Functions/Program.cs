using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Functions;
using Gateway.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// catalog.json is the lowest layer, so any app setting (Gateway__Catalog__…) overrides it.
var catalogPath = builder.Configuration["Gateway:CatalogPath"] ?? Path.Combine(AppContext.BaseDirectory, "catalog.json");
((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new JsonConfigurationSource
{
    Path = Path.GetFileName(catalogPath),
    FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(Path.GetFullPath(catalogPath))!),
    Optional = builder.Configuration["Gateway:CatalogPath"] is null,
    ReloadOnChange = false,
});

builder.Services.AddGateway(builder.Configuration);
builder.Build().Run();
