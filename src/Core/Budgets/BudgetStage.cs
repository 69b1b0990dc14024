using Gateway.Core.Pipeline;

namespace Gateway.Core.Budgets;

/// <summary>
/// Budgets on the request path: after the pre-call estimate, the request must fit every budget on its path (key, user,
/// team, tags, global) at its maximum cost, else 429 <c>insufficient_quota</c> naming the budget. After the response the
/// actual cost is settled (what a failed or cut-short request really cost, possibly nothing).
/// </summary>
public sealed class BudgetStage(BudgetGate gate) : IGatewayStage
{
    public async ValueTask<GatewayResult> InvokeAsync(GatewayContext context, GatewayHandler next)
    {
        var estimate = context.CostEstimate;
        var principal = context.RequirePrincipal();
        // the key's user, team and tags always apply; an end user the client names adds a scope
        var path = BudgetGate.PathOf(principal.KeyId, principal.User, principal.Team, context.Tags, context.EndUser);
        if (estimate is null || estimate.MaxCostUsd <= 0m)
        {
            // nothing to reserve (a free model, an empty estimate), but a stopped budget still refuses every request on its path
            var stopped = await FailClosedAsync(() => gate.StoppedOnPathAsync(path, context.Aborted)).ConfigureAwait(false);
            if (stopped is not null) throw Refused(stopped, context);
            return await next(context).ConfigureAwait(false);
        }

        // the usage record's id: unique per request (a client's x-request-id may repeat)
        var requestId = context.ResponseHeaders.TryGetValue(Usage.UsageStage.RecordIdHeader, out var recordId) ? recordId : "req_" + Guid.NewGuid().ToString("N");
        var admission = await FailClosedAsync(() => gate.AdmitAsync(requestId, path, estimate.MaxCostUsd, estimate.Bounded ? estimate.MaxCostUsd : null,
            context.AdmissionTimeLeft, context.Aborted)).ConfigureAwait(false);
        if (!admission.Admitted && admission.Refusal == BudgetRefusal.Undecided)
            throw Errors.Errors.AdmissionUndecided($"the budget '{admission.RefusedBy}'");
        if (!admission.Admitted) throw Refused(admission, context);

        if (admission.Holds.IsEmpty) return await next(context).ConfigureAwait(false);
        context.OnCompleted(async () => await gate.SettleAsync(requestId, admission, context.Cost?.CostUsd ?? 0m, CancellationToken.None).ConfigureAwait(false));
        return await next(context).ConfigureAwait(false);
    }

    /// <summary>Budgets that cannot be reached refuse the request (503 <c>budgets_unavailable</c>), never a 500 nor a pass.</summary>
    private static async Task<T> FailClosedAsync<T>(Func<Task<T>> check)
    {
        try
        {
            return await check().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or Errors.GatewayException))
        {
            throw Errors.Errors.DependencyUnavailable("its budgets", "budgets_unavailable", ex);
        }
    }

    private static Errors.GatewayException Refused(BudgetAdmission admission, GatewayContext context)
    {
        var snapshot = admission.RefusingBudget;
        return Errors.Errors.BudgetExceeded(admission.RefusedBy!.Value.ToString(), admission.Refusal == BudgetRefusal.Stopped,
            (snapshot?.SpentUsd ?? 0m) + (snapshot?.ReservedUsd ?? 0m), snapshot?.LimitUsd ?? 0m, snapshot?.PeriodEnd ?? context.ReceivedAt);
    }
}
