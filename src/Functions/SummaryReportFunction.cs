using System.Text;
using Gateway.Core.Hosting;
using Gateway.Core.Reports;
using Gateway.Functions.Entities;
using Gateway.Functions.Http;
using Gateway.Reports;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gateway.Functions;

/// <summary>
/// The executive summary, for the admin key: <c>GET /gateway/reports/summary?from=…&amp;to=…&amp;scope=…&amp;format=json|csv|pdf</c>
/// (see <see cref="SummaryQuery"/>); CSV and PDF come as attachments. The analytics snapshot it may compute reads the
/// budgets' entities, so it binds the Durable client.
/// </summary>
public sealed class SummaryReportFunction(GatewayRuntime runtime, ExecutiveSummaryService summaries, TimeProvider time, DurableEntityChannel? durable = null)
{
    [Function("SummaryReport")]
    public Task<IActionResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gateway/reports/summary")] HttpRequest request,
        [DurableClient] DurableTaskClient? client = null)
    {
        durable?.Attach(client);
        return AdminRequests.RunStreamAsync(runtime, request, async ct =>
        {
            var query = SummaryQuery.Parse(n => request.Query[n].FirstOrDefault(), time.GetUtcNow());
            var summary = await summaries.BuildAsync(query, ct).ConfigureAwait(false);
            var response = request.HttpContext.Response;
            switch (query.Format)
            {
                case SummaryFormat.Csv:
                    await WriteFileAsync(response, "text/csv; charset=utf-8", query.FileName("csv"), Encoding.UTF8.GetBytes(SummaryCsv.Write(summary)), ct).ConfigureAwait(false);
                    break;
                case SummaryFormat.Pdf:
                    await WriteFileAsync(response, "application/pdf", query.FileName("pdf"), SummaryPdf.Render(summary), ct).ConfigureAwait(false);
                    break;
                default:
                    await HttpResponses.WriteJsonAsync(response, StatusCodes.Status200OK, SummaryJson.ToJson(summary), ct).ConfigureAwait(false);
                    break;
            }
        });
    }

    private static async Task WriteFileAsync(HttpResponse response, string contentType, string fileName, byte[] body, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        await response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }
}
