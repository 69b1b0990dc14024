using System.Text;
using Gateway.Core.Budgets;
using Gateway.Core.Configuration;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions.Budgets;

/// <summary>
/// Delivers budget alerts, and the analytics alerts that share their queue, to the configured webhook, signed. A failed
/// delivery throws, so the queue delivers the message again (up to 5 times, then <c>budget-alert-webhooks-poison</c>);
/// receivers deduplicate by the alert id.
/// </summary>
public sealed partial class BudgetAlertFunctions(GatewayOptions options, IHttpClientFactory http, TimeProvider time, ILogger<BudgetAlertFunctions> logger)
{
    public const string AlertQueue = "budget-alerts";
    public const string WebhookQueue = "budget-alert-webhooks";
    public const string WebhookClient = "webhooks";

    [Function("DeliverBudgetAlert")]
    public async Task Deliver([QueueTrigger(WebhookQueue, Connection = "AzureWebJobsStorage")] string message, CancellationToken cancellationToken)
    {
        var url = options.Budgets.AlertWebhookUrl;
        if (string.IsNullOrEmpty(url)) return;
        var body = message.TrimStart().StartsWith('{') ? message : Encoding.UTF8.GetString(Convert.FromBase64String(message));
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (!string.IsNullOrEmpty(options.Budgets.AlertWebhookSecret))
            request.Headers.TryAddWithoutValidation(BudgetAlertMessages.SignatureHeader, BudgetAlertMessages.Sign(options.Budgets.AlertWebhookSecret, time.GetUtcNow(), body));
        var id = System.Text.Json.Nodes.JsonNode.Parse(body)?["id"]?.ToString();
        if (id is not null) request.Headers.TryAddWithoutValidation(BudgetAlertMessages.AlertIdHeader, id);
        using var response = await http.CreateClient(WebhookClient).SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            LogFailed((int)response.StatusCode, id ?? "");
            throw new HttpRequestException($"The budget alert webhook answered {(int)response.StatusCode}; the alert will be delivered again.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget alert webhook answered {Status} for alert {AlertId}; retrying via the queue.")]
    private partial void LogFailed(int status, string alertId);
}
