using FsCheck.Xunit;
using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

/// <summary>
/// 200 concurrent requests from 4 instances against a budget that fits 50 requests at their maximum cost ($1 each).
/// Instances admit locally against leases, report in batches, fall back to exact reservations near the limit, and the
/// steps of all instances interleave at random.
/// </summary>
public sealed class BudgetLeaseSimulationTests
{
    private const int Instances = 4;
    private const int Requests = 200;
    private const decimal Limit = 50m;
    private const decimal MaxCost = 1m;
    private static readonly DateTimeOffset Start = T("2026-05-10T12:00:00Z");
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromMinutes(5);

    private sealed record InFlight(int Request, int Instance, BudgetLeaseLedger? Ledger, decimal Estimate, decimal Max);

    private sealed record Result(decimal BudgetSpent, decimal ActualSpent, int Admitted, int Refused, decimal Overrun);

    private static Result Run(int seed, bool uncapped)
    {
        var random = new System.Random(seed);
        var state = BudgetMachine.Configure(null, Definition(Limit, leases: new BudgetLeasePolicy
        {
            MaxRequestCostUsd = MaxCost,
            ExactModeRequestMultiple = 4,
            ExactModeFraction = 0.1m,
            MaxLeaseFraction = 0.25m,
            MaxRequestDuration = TimeSpan.FromMinutes(2),
        }), Start).State;
        var now = Start;
        var ledgers = new BudgetLeaseLedger?[Instances];
        var retiring = new List<BudgetLeaseLedger>();
        var inFlight = new List<InFlight>();
        var next = 0;
        decimal actual = 0m, overrun = 0m;
        int admitted = 0, refused = 0;

        void Report(BudgetLeaseLedger ledger, bool final)
        {
            var report = ledger.TakeReport();
            var outcome = final
                ? BudgetMachine.ReturnLease(state, report.InstanceId, report.LeaseId, report.CumulativeSpentUsd, report.SettledRequestIds, now)
                : BudgetMachine.SettleLease(state, report.InstanceId, report.LeaseId, report.CumulativeSpentUsd, report.SettledRequestIds, now);
            state = outcome.State;
            if (!outcome.Result.LeaseActive) ledger.Retire();
        }

        void Retire(int instance)
        {
            if (ledgers[instance] is not { } old) return;
            old.Retire();
            retiring.Add(old);
            ledgers[instance] = null;
        }

        while (next < Requests || inFlight.Count > 0)
        {
            now += TimeSpan.FromMilliseconds(random.Next(1, 50));
            var action = random.Next(10);
            if (next < Requests && (action < 5 || inFlight.Count == 0))
            {
                var instance = random.Next(Instances);
                var request = next++;
                var max = MaxCost;
                var estimate = uncapped && random.Next(2) == 0 ? 0.25m : max;
                var id = $"req-{request}";
                var ledger = ledgers[instance];
                var admission = ledger?.TryAdmit(id, estimate, max == estimate ? null : max, now);
                if (admission is not { Admitted: true })
                {
                    Retire(instance);
                    var lease = BudgetMachine.Lease(state, $"inst-{instance}", 8m, now, LeaseTtl);
                    state = lease.State;
                    if (lease.Result.Grant is { } grant)
                    {
                        ledger = ledgers[instance] = new BudgetLeaseLedger(grant);
                        admission = ledger.TryAdmit(id, estimate, max == estimate ? null : max, now);
                    }
                }

                if (admission is { Admitted: true })
                {
                    inFlight.Add(new InFlight(request, instance, ledger, estimate, max));
                    admitted++;
                    continue;
                }

                var reserve = BudgetMachine.Reserve(state, id, estimate, now, TimeSpan.FromMinutes(2), max == estimate ? null : max);
                state = reserve.State;
                if (reserve.Result.Admitted)
                {
                    inFlight.Add(new InFlight(request, instance, null, estimate, max));
                    admitted++;
                }
                else
                {
                    refused++;
                }
            }
            else if (action < 9 && inFlight.Count > 0)
            {
                var done = inFlight[random.Next(inFlight.Count)];
                inFlight.Remove(done);
                // Capped requests cost at most their estimate; uncapped ones anything up to their maximum.
                var cost = decimal.Round(done.Max * random.Next(0, 101) / 100m, 2);
                if (done.Estimate == done.Max) cost = Math.Min(cost, done.Estimate);
                actual += cost;
                overrun += Math.Max(0m, cost - done.Estimate);
                var id = $"req-{done.Request}";
                if (done.Ledger is { } ledger) ledger.Settle(id, cost);
                else state = BudgetMachine.Settle(state, id, cost, now).State;
            }
            else
            {
                var instance = random.Next(Instances);
                if (ledgers[instance] is { } ledger) Report(ledger, final: false);
                foreach (var old in retiring.Where(l => l.GetSnapshot().InFlight == 0).ToList())
                {
                    Report(old, final: true);
                    retiring.Remove(old);
                }
            }
        }

        foreach (var ledger in ledgers.Concat(retiring))
        {
            if (ledger is not null) Report(ledger, final: true);
        }

        return new Result(state.SpentUsd, actual, admitted, refused, overrun);
    }

    [Property(MaxTest = 200)]
    public bool With_max_tokens_admitted_spend_never_exceeds_the_limit(int seed)
    {
        var result = Run(seed, uncapped: false);
        return result.BudgetSpent == result.ActualSpent && result.BudgetSpent <= Limit && result.Admitted + result.Refused == Requests;
    }

    [Property(MaxTest = 200)]
    public bool Without_max_tokens_the_overrun_is_at_most_one_request_per_instance_plus_one(int seed)
    {
        var result = Run(seed, uncapped: true);
        return result.BudgetSpent == result.ActualSpent && result.BudgetSpent <= Limit + ((Instances + 1) * MaxCost);
    }

    [Fact]
    public void A_fixed_interleaving_admits_close_to_the_limit_and_refuses_the_rest()
    {
        var result = Run(12345, uncapped: false);
        Assert.Equal(result.ActualSpent, result.BudgetSpent);
        Assert.True(result.BudgetSpent <= Limit);
        Assert.InRange(result.Admitted, 50, 150);
        Assert.True(result.Refused > 0);
    }
}
