using Gateway.Deploy;

using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
return await DeployCli.RunAsync(args, new DeployContext
{
    Environment = Environment.GetEnvironmentVariable,
    Out = Console.Out,
    Error = Console.Error,
    Publisher = new DotnetPublisher(Console.Out),
    Http = http,
});
