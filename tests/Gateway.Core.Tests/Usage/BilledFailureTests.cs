using System.Net.Http;
using System.Text;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Hosting;
using Gateway.Core.Pipeline;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Providers;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Usage;

/// <summary>
/// Work the provider may bill is never recorded at $0: calls that timed out, dropped after connecting or were in flight
/// when the client left are priced (their prompts, estimated) into the request's cost, which budgets settle.
/// </summary>
[Trait("Category", "Pipeline")]
public sealed class BilledFailureTests
{
    private const string Body = """{"model":"m","messages":[{"role":"user","content":"hello there, how are you today?"}],"max_tokens":20}""";

    private static async Task<(GatewayRuntime Runtime, InMemoryUsageSink Usage, string Key)> Gateway(params DeploymentOptions[] deployments)
    {
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [.. deployments], Models = [new ModelOptions { Name = "m", Deployments = [.. deployments.Select(d => d.Name)] }] },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 3 },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);
        return (runtime, usage, key);
    }

    private static DeploymentOptions OpenAi(string name, FakeLlmServer server, string model = "gpt-4o", int priority = 0, double timeout = 60) =>
        new() { Name = name, Provider = "openai", Model = model, Endpoint = server.BaseUri + "v1", ApiKeySetting = "K", Priority = priority, TimeoutSeconds = timeout };

    private static decimal PromptCost(GatewayRuntime runtime, DeploymentOptions d, DateTimeOffset at, out int prompt)
    {
        prompt = runtime.CostMeter.EstimateFor(ChatRequestParser.Parse(Encoding.UTF8.GetBytes(Body)), d, at).PromptTokens;
        return PricingCostMeter.PriceOf(runtime.Prices.Current, d, at)!.Prices.Input * prompt / 1_000_000m;
    }

    [Fact]
    public async Task A_call_that_timed_out_before_a_successful_retry_is_priced_into_the_request()
    {
        await using var slow = await FakeLlmServer.StartAsync();
        await using var good = await FakeLlmServer.StartAsync();
        slow.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        good.Enqueue(new FakeReply { Text = "ok", PromptTokens = 14, CompletionTokens = 3 });
        var a = OpenAi("a", slow, model: "gpt-4o", timeout: 0.5);
        var b = OpenAi("b", good, model: "gpt-4o-mini", priority: 1);
        var (runtime, usage, key) = await Gateway(a, b);

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body);

        Assert.Null(sent.Outcome.Error);
        Assert.Equal("a 504 upstream_timeout; b 200", sent.Context.AttemptLog);
        var record = Assert.Single(usage.Records);
        var failed = PromptCost(runtime, a, record.At, out var failedPrompt);
        var answered = (14 * 0.15m + 3 * 0.60m) / 1_000_000m;
        Assert.Equal(1, record.BilledFailures);
        Assert.Equal(failed, record.BilledFailuresCostUsd);
        Assert.Equal(answered + failed, record.CostUsd);
        Assert.Equal(14 + failedPrompt, record.PromptTokens);
        Assert.True(record.CostEstimated);
        // budgets settle what the context says it cost
        Assert.Equal(record.CostUsd, sent.Context.Cost!.CostUsd);
    }

    [Fact]
    public async Task Refusals_with_an_error_status_and_connections_never_made_are_not_billed()
    {
        await using var failing = await FakeLlmServer.StartAsync();
        await using var good = await FakeLlmServer.StartAsync();
        failing.EnqueueFault(new ServerError(500));
        good.Enqueue(new FakeReply { Text = "ok", PromptTokens = 14, CompletionTokens = 3 });
        var refused = new DeploymentOptions { Name = "nobody", Provider = "openai", Model = "gpt-4o", Endpoint = "http://127.0.0.1:9/v1", ApiKeySetting = "K" };
        var (runtime, usage, key) = await Gateway(refused, OpenAi("a", failing, priority: 1), OpenAi("b", good, model: "gpt-4o-mini", priority: 2));

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body);

        Assert.Null(sent.Outcome.Error);
        Assert.Equal(3, sent.Context.Attempts);
        var record = Assert.Single(usage.Records);
        Assert.Equal(0, record.BilledFailures);
        Assert.Equal((14 * 0.15m + 3 * 0.60m) / 1_000_000m, record.CostUsd);
        Assert.False(record.CostEstimated);
    }

    [Fact]
    public async Task A_client_that_leaves_during_a_non_streaming_call_is_billed_for_the_prompt_sent()
    {
        await using var slow = await FakeLlmServer.StartAsync();
        slow.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        var a = OpenAi("a", slow);
        var (runtime, usage, key) = await Gateway(a);
        using var client = new CancellationTokenSource();
        var body = Encoding.UTF8.GetBytes(Body);
        var context = new GatewayContext("r", new BearerHeaders(key), new MemoryStream(body), body.Length, TimeProvider.System, client.Token);

        var handling = runtime.ChatCompletions.HandleAsync(context);
        while (slow.RequestCount == 0) await Task.Delay(10);
        await client.CancelAsync();
        try
        {
            await handling;
        }
        catch (OperationCanceledException)
        {
            // the Functions app writes nothing to a client that has gone
        }

        await context.CompleteAsync();
        var record = Assert.Single(usage.Records);
        Assert.Equal(499, record.Status);
        Assert.Equal(UsageOutcomes.ClientClosed, record.Outcome);
        var prompt = PromptCost(runtime, a, record.At, out var promptTokens);
        Assert.Equal(1, record.BilledFailures);
        Assert.Equal(prompt, record.CostUsd);
        Assert.Equal(promptTokens, record.PromptTokens);
        Assert.True(record.CostEstimated);
        Assert.True(record.CostUsd > 0m);
        Assert.Equal(prompt, context.Cost!.CostUsd);
    }

    [Fact]
    public async Task A_request_whose_every_call_timed_out_is_an_error_that_still_carries_their_cost()
    {
        await using var slow = await FakeLlmServer.StartAsync();
        slow.EnqueueFault(new Hang(TimeSpan.FromSeconds(30)));
        var a = OpenAi("a", slow, timeout: 0.5);
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [a], Models = [new ModelOptions { Name = "m", Deployments = ["a"] }] },
            Resilience = new Gateway.Core.Resilience.ResilienceOptions { MaxAttempts = 1 },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, features: TestFeatures.Current);
        var (_, key) = await runtime.Keys.CreateAsync(new CreateKeyRequest("k", null, null, [], new Dictionary<string, string>()), default);

        var sent = await GatewayRequests.SendAsync(runtime, new BearerHeaders(key), Body);

        Assert.Equal(504, sent.Outcome.Error!.Status);
        var record = Assert.Single(usage.Records);
        Assert.Equal(UsageOutcomes.Error, record.Outcome);
        Assert.Equal(PromptCost(runtime, a, record.At, out _), record.CostUsd);
        Assert.True(record.CostEstimated);
    }

    /// <summary>
    /// Each failure by name. The theory's rows are (name, billed), which xunit can serialise, so each row is a test case
    /// of its own (to the runner and to Stryker's coverage per test) instead of one test for the whole table.
    /// </summary>
    private static readonly Dictionary<string, Func<GatewayException>> FailureNamed = new()
    {
        ["our own timeout (the call was cancelled)"] = () => new GatewayException(Errors.Errors.UpstreamTimeout("openai", TimeSpan.FromSeconds(1)).Error, new OperationCanceledException()),
        // the provider's own 408: it answered that it did not process the request
        ["the provider's 408"] = () => Errors.Errors.UpstreamTimeout("openai", TimeSpan.FromSeconds(1)),
        ["connection refused"] = () => Errors.Errors.UpstreamError("openai", null, new HttpRequestException(HttpRequestError.ConnectionError, "refused")),
        ["no such host"] = () => Errors.Errors.UpstreamError("openai", null, new HttpRequestException(HttpRequestError.NameResolutionError, "no such host")),
        ["response ended"] = () => Errors.Errors.UpstreamError("openai", null, new HttpRequestException(HttpRequestError.ResponseEnded, "ended")),
        ["connection reset"] = () => Errors.Errors.UpstreamError("openai", null, new IOException("reset")),
        ["HTTP 500"] = () => Errors.Errors.UpstreamError("openai", 500),
        ["HTTP 429"] = () => Errors.Errors.UpstreamRateLimited(3, "openai"),
        ["HTTP 400"] = () => Errors.Errors.UpstreamBadRequest("openai", "bad"),
        ["not JSON"] = () => Errors.Errors.UpstreamProtocol("openai", "not JSON"),
    };

    public static TheoryData<string, bool> Failures() => new()
    {
        { "our own timeout (the call was cancelled)", true },
        { "the provider's 408", false },
        { "connection refused", false },
        { "no such host", false },
        { "response ended", true },
        { "connection reset", true },
        { "HTTP 500", false },
        { "HTTP 429", false },
        { "HTTP 400", false },
        { "not JSON", true },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Which_failures_may_have_been_billed(string failure, bool billed) =>
        Assert.Equal(billed, UpstreamErrors.MayHaveBeenBilled(FailureNamed[failure]()));

    [Fact]
    public void Every_named_failure_is_a_row()
    {
        var rows = ((IEnumerable<object[]>)Failures()).Select(row => (string)row[0]).ToList();
        Assert.Equal(FailureNamed.Keys.Order(), rows.Order());
    }
}
