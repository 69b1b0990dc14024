using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Gateway.Functions.Budgets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Functions.Tests.Budgets;

/// <summary>Alert webhooks: signed, delivered to a real local HTTP endpoint, retried (via the queue) when it fails.</summary>
public sealed class BudgetAlertTests
{
    private static readonly BudgetAlert Alert = new(BudgetScope.ForTeam("payments"), 0.8m,
        DateTimeOffset.Parse("2026-11-01T00:00:00Z", CultureInfo.InvariantCulture), DateTimeOffset.Parse("2026-12-01T00:00:00Z", CultureInfo.InvariantCulture),
        80.5m, 100m, DateTimeOffset.Parse("2026-11-25T10:00:00Z", CultureInfo.InvariantCulture));

    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        public ConcurrentQueue<(string Body, string? Signature, string? Id)> Received { get; } = new();
        public int FailFirst;

        public Receiver()
        {
            var port = Gateway.Testing.LocalServerProcess.FreePort();
            Url = $"http://127.0.0.1:{port}/hooks/budget/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(Loop);
        }

        public string Url { get; }

        private async Task Loop()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                if (Interlocked.Decrement(ref FailFirst) >= 0) context.Response.StatusCode = 503;
                else
                {
                    Received.Enqueue((body, context.Request.Headers[BudgetAlertMessages.SignatureHeader], context.Request.Headers[BudgetAlertMessages.AlertIdHeader]));
                    context.Response.StatusCode = 204;
                }

                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }

    private sealed class Clients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }

    [Fact]
    public void Signatures_verify_and_tampering_is_detected()
    {
        var body = BudgetAlertMessages.ToJson(Alert);
        var now = DateTimeOffset.Parse("2026-11-25T10:00:05Z", CultureInfo.InvariantCulture);
        var signature = BudgetAlertMessages.Sign("whsec-test", now, body);
        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", signature);
        Assert.True(BudgetAlertMessages.Verify("whsec-test", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.False(BudgetAlertMessages.Verify("whsec-other", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.False(BudgetAlertMessages.Verify("whsec-test", signature, body.Replace("80.5", "1", StringComparison.Ordinal), now, TimeSpan.FromMinutes(5)));
        Assert.False(BudgetAlertMessages.Verify("whsec-test", signature, body, now.AddHours(1), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task The_webhook_receives_the_signed_alert_and_a_failed_delivery_is_retried()
    {
        using var receiver = new Receiver { FailFirst = 1 };
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T10:00:00Z", CultureInfo.InvariantCulture));
        var options = new GatewayOptions();
        options.Budgets.AlertWebhookUrl = receiver.Url;
        options.Budgets.AlertWebhookSecret = "whsec-test";
        var functions = new BudgetAlertFunctions(options, new Clients(), time, NullLogger<BudgetAlertFunctions>.Instance);
        var message = Convert.ToBase64String(Encoding.UTF8.GetBytes(BudgetAlertMessages.ToJson(Alert)));

        // the first delivery fails: the function throws so the queue delivers the message again
        await Assert.ThrowsAsync<HttpRequestException>(() => functions.Deliver(message, default));
        await functions.Deliver(message, default);

        var (body, signature, id) = Assert.Single(receiver.Received);
        Assert.Equal(Alert.Id, id);
        Assert.True(BudgetAlertMessages.Verify("whsec-test", signature!, body, time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        var json = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        Assert.Equal("team:payments", (string?)json["scope"]);
        Assert.Equal(0.8m, (decimal)json["threshold"]!);
    }
}
