using Gateway.Core.Configuration;

namespace Gateway.Core.Tests.Configuration;

/// <summary>The catalog as an uploaded document: its shape is checked before anything is bound, every problem listed with its path.</summary>
public sealed class CatalogDocumentTests
{
    [Fact]
    public void A_document_in_the_shape_of_the_catalog_section_is_read_in_any_case()
    {
        var options = CatalogDocument.Parse("""
            { "deployments": [ { "name": "d", "PROVIDER": "mock", "Weight": 3, "FirstTokenTimeoutSeconds": 2.5, "Pricing": { "Free": true, "VolumeTiers": [] } } ],
              "Models": [ { "Name": "m", "Aliases": ["a"], "Deployments": ["d"] } ] }
            """);
        var d = Assert.Single(options.Deployments);
        Assert.Equal(("d", "mock", 3, 2.5, true), (d.Name, d.Provider, d.Weight, d.FirstTokenTimeoutSeconds, d.Pricing.Free));
        Assert.Equal(["a"], Assert.Single(options.Models).Aliases);
        // what is not given keeps the settings' default
        Assert.Equal(600, d.TimeoutSeconds);
    }

    [Fact]
    public void Every_problem_of_the_shape_is_listed_with_its_path()
    {
        var ex = Assert.Throws<CatalogException>(() => CatalogDocument.Parse("""
            { "Deployments": [
                { "Name": "d", "Provider": "mock", "Weight": "3", "ApiKey": "sk-do-not-echo", "Pricing": { "Input": "cheap", "VolumeTiers": [ { "FromMonthlyTokens": 1.5 } ] } },
                { "Name": null, "Provider": "mock", "Priority": 99999999999, "Endpoint": null, "RequestsPerMinute": null },
                "not a deployment"
              ],
              "Models": { "Name": "m" },
              "Extra": 1 }
            """));
        Assert.Equal(
        [
            "Deployments:0:Weight must be a whole number, not a string.",
            "Deployments:0:ApiKey is not a field of a deployment (fields: Name, Provider, Model, Endpoint, ApiKeySetting, Auth, ApiVersion, AnthropicVersion, DefaultMaxTokens, Weight, Priority, TimeoutSeconds, FirstTokenTimeoutSeconds, StreamIdleTimeoutSeconds, Continuation, ConnectTimeoutSeconds, MockLatencyMs, MockChunkDelayMs, MockCompletionTokens, RequestsPerMinute, TokensPerMinute, Pricing).",
            "Deployments:0:Pricing:Input must be a number, not a string.",
            "Deployments:0:Pricing:VolumeTiers:0:FromMonthlyTokens must be a whole number (was 1.5).",
            "Deployments:1:Name must not be null.",
            "Deployments:1:Priority is out of range (was 99999999999).",
            "Deployments:2 must be an object, not a string.",
            "Models must be a list, not an object.",
            "Extra is not a field of the catalog (fields: Deployments, Models).",
        ], ex.Errors);
        // a value given where a field is unknown is never repeated back
        Assert.DoesNotContain(ex.Errors, e => e.Contains("sk-do-not-echo", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not json", "The document is not valid JSON")]
    [InlineData("[]", "The document must be a JSON object")]
    [InlineData("""{"Deployments":[]}""", "Models is missing.")]
    [InlineData("""{"Gateway":{"Catalog":{"Deployments":[],"Models":[]}}}""", "without the 'Gateway' around it")]
    [InlineData("""{"Catalog":{"Deployments":[],"Models":[]}}""", "without the 'Catalog' around it")]
    [InlineData("""{"Deployments":[],"deployments":[],"Models":[]}""", "deployments: Deployments is given twice.")]
    [InlineData("""{"Deployments":[],"Deployments":[],"Models":[]}""", "The document is not valid JSON (Duplicate property 'Deployments'")]
    [InlineData("""{"Deployments":[{"Name":"a","Name":"b","Provider":"mock"}],"Models":[]}""", "The document is not valid JSON (Duplicate property 'Name'")]
    [InlineData("""{"Deployments":[{"TimeoutSeconds":1e400}],"Models":[]}""", "Deployments:0:TimeoutSeconds is out of range (was 1e400).")]
    public void A_document_that_is_not_a_catalog_says_why(string json, string expected) =>
        Assert.Contains(Assert.Throws<CatalogException>(() => CatalogDocument.Parse(json)).Errors, e => e.Contains(expected, StringComparison.Ordinal));

    [Fact]
    public void The_catalog_written_as_a_document_reads_back_as_the_same_catalog()
    {
        var options = new CatalogOptions
        {
            Deployments =
            [
                new DeploymentOptions { Name = "a", Provider = "openai", Model = "gpt-4o", ApiKeySetting = "K", Weight = 2, RequestsPerMinute = 60, Pricing = { Discount = 0.1m, VolumeTiers = [new VolumeTierOptions { FromMonthlyTokens = 5, Discount = 0.2m }] } },
                new DeploymentOptions { Name = "b", Provider = "mock", MockLatencyMs = 5 },
            ],
            Models = [new ModelOptions { Name = "m", Aliases = ["x"], Deployments = ["a", "b"], Fallbacks = [], LoadBalancing = "latency" }],
        };
        var json = CatalogDocument.ToJson(options);
        Assert.Null(json["Deployments"]![1]!["Endpoint"]);
        Assert.False(json["Deployments"]!.AsArray()[1]!.AsObject().ContainsKey("Endpoint"));
        var again = CatalogDocument.Parse(json.ToJsonString());
        Assert.Equal(json.ToJsonString(), CatalogDocument.ToJson(again).ToJsonString());
        Assert.Equal(0.2m, again.Deployments[0].Pricing.VolumeTiers[0].Discount);
    }
}
