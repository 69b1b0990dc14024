using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

/// <summary>
/// Random operation sequences. Each int drives one operation: its low bits pick the operation, the others its
/// arguments and how far the clock moves, so FsCheck can shrink a failing sequence.
/// </summary>
public sealed class BudgetPropertyTests
{
    private static readonly DateTimeOffset Start = T("2026-03-27T20:00:00Z");

    private static BudgetState Initial() =>
        BudgetMachine.Configure(null, Definition(20m, BudgetPeriodKind.Daily, "Europe/Berlin") with { SettledRetention = TimeSpan.FromDays(60) }, Start).State;

    private static int Bits(uint x, int shift, int modulo) => (int)((x >> shift) % (uint)modulo);

    [Property(MaxTest = 500)]
    public bool Spent_is_the_sum_of_costs_settled_in_the_current_period(int[] ops)
    {
        var state = Initial();
        var now = Start;
        var modelSpent = 0m;
        var modelPeriodEnd = state.PeriodEnd;
        var settled = new HashSet<string>();
        var reported = new Dictionary<string, decimal>();
        var leases = new List<(string Instance, string Lease)>();
        foreach (var op in ops.Take(120))
        {
            var x = unchecked((uint)op);
            now += TimeSpan.FromMinutes(30 * Bits(x, 20, 4));
            if (now >= modelPeriodEnd)
            {
                modelSpent = 0m;
                modelPeriodEnd = BudgetPeriods.Containing(BudgetPeriodKind.Daily, BudgetPeriods.ResolveTimeZone("Europe/Berlin"), DayOfWeek.Monday, now, Start).End;
            }

            var id = $"r{Bits(x, 4, 12)}";
            switch (x % 10)
            {
                case 0:
                case 1:
                    var max = Bits(x, 16, 2) == 0 ? (decimal?)null : (Bits(x, 8, 50) / 10m) + 1m;
                    state = BudgetMachine.Reserve(state, id, Bits(x, 8, 50) / 10m, now, TimeSpan.FromHours(Bits(x, 14, 4) + 1), max).State;
                    break;
                case 2:
                case 3:
                    var cost = Bits(x, 8, 60) / 10m;
                    state = BudgetMachine.Settle(state, id, cost, now).State;
                    if (settled.Add(id)) modelSpent += cost;
                    break;
                case 4:
                    state = BudgetMachine.Release(state, id, now).State;
                    break;
                case 5:
                    state = BudgetMachine.Expire(state, now).State;
                    break;
                case 6:
                    state = BudgetMachine.Reset(state, now).State;
                    modelSpent = 0m;
                    break;
                case 7:
                    state = BudgetMachine.Reconfigure(state, state.Definition with { LimitUsd = Bits(x, 8, 30) + 1 }, now).State;
                    break;
                case 8:
                    var instance = $"i{Bits(x, 4, 3)}";
                    var lease = BudgetMachine.Lease(state, instance, Bits(x, 8, 20) + 1, now, TimeSpan.FromHours(3));
                    state = lease.State;
                    if (lease.Result.Grant is { } grant) leases.Add((instance, grant.LeaseId));
                    break;
                default:
                    if (leases.Count == 0) break;
                    var (owner, leaseId) = leases[Bits(x, 4, leases.Count)];
                    var cumulative = reported.GetValueOrDefault(leaseId) + (Bits(x, 8, 30) / 10m) - 1m;
                    cumulative = Math.Max(0m, cumulative);
                    state = Bits(x, 13, 2) == 0
                        ? BudgetMachine.SettleLease(state, owner, leaseId, cumulative, null, now).State
                        : BudgetMachine.ReturnLease(state, owner, leaseId, cumulative, null, now).State;
                    var before = reported.GetValueOrDefault(leaseId);
                    if (cumulative > before)
                    {
                        modelSpent += cumulative - before;
                        reported[leaseId] = cumulative;
                    }

                    break;
            }

            if (BudgetMachine.GetState(state, now).SpentUsd != modelSpent) return false;
        }

        return true;
    }

    [Property(MaxTest = 500)]
    public bool Strict_mode_never_lets_spent_plus_reserved_exceed_the_limit(int[] ops)
    {
        var state = Initial();
        var now = Start;
        foreach (var op in ops.Take(120))
        {
            var x = unchecked((uint)op);
            now += TimeSpan.FromMinutes(30 * Bits(x, 20, 4));
            // The operation first applies rollover and expiry at `now`; compare against the state after that.
            var baseline = BudgetMachine.Expire(state, now).State;
            switch (x % 9)
            {
                case 0:
                case 1:
                case 2:
                    var max = Bits(x, 16, 2) == 0 ? (decimal?)null : (Bits(x, 8, 50) / 10m) + 1m;
                    state = BudgetMachine.Reserve(state, $"r{Bits(x, 4, 12)}", Bits(x, 8, 50) / 10m, now, TimeSpan.FromHours(Bits(x, 14, 4) + 1), max).State;
                    break;
                case 3:
                    // Settle a live reservation for at most what it reserved.
                    var live = BudgetMachine.Expire(state, now).State.Reservations.ToList();
                    if (live.Count == 0) break;
                    var (id, reservation) = live[Bits(x, 4, live.Count)];
                    state = BudgetMachine.Settle(state, id, reservation.AmountUsd * Bits(x, 8, 11) / 10m, now).State;
                    break;
                case 4:
                    state = BudgetMachine.Expire(state, now).State;
                    break;
                case 5:
                    state = BudgetMachine.Reset(state, now).State;
                    break;
                case 6:
                    state = BudgetMachine.Reconfigure(state, state.Definition with { LimitUsd = Bits(x, 8, 30) + 1 }, now).State;
                    break;
                case 7:
                    state = BudgetMachine.Lease(state, $"i{Bits(x, 4, 3)}", Bits(x, 8, 20) + 1, now, TimeSpan.FromHours(3)).State;
                    break;
                default:
                    // Report on an active lease at most its amount.
                    var active = BudgetMachine.Expire(state, now).State.Leases.ToList();
                    if (active.Count == 0) break;
                    var (leaseId, lease) = active[Bits(x, 4, active.Count)];
                    var cumulative = Math.Max(lease.ReportedUsd, lease.AmountUsd * Bits(x, 8, 11) / 10m);
                    state = Bits(x, 13, 2) == 0
                        ? BudgetMachine.SettleLease(state, lease.InstanceId, leaseId, cumulative, null, now).State
                        : BudgetMachine.ReturnLease(state, lease.InstanceId, leaseId, cumulative, null, now).State;
                    break;
            }

            // Judge the state as it stands at `now` (an operation that did nothing has not applied expiry itself).
            var view = BudgetMachine.Expire(state, now).State;
            var held = view.SpentUsd + view.ReservedUsd;
            var exposure = view.SpentUsd + view.ExposureUsd;
            var limit = view.Definition.LimitUsd;
            if (held > limit && held > baseline.SpentUsd + baseline.ReservedUsd) return false;
            if (exposure > limit && exposure > baseline.SpentUsd + baseline.ExposureUsd) return false;
        }

        return true;
    }

    [Property(MaxTest = 200)]
    public bool State_survives_a_json_round_trip_after_any_sequence(int[] ops)
    {
        var state = Initial();
        var now = Start;
        foreach (var op in ops.Take(40))
        {
            var x = unchecked((uint)op);
            now += TimeSpan.FromMinutes(Bits(x, 20, 90));
            state = (x % 4) switch
            {
                0 => BudgetMachine.Reserve(state, $"r{Bits(x, 4, 8)}", Bits(x, 8, 40) / 10m, now, TimeSpan.FromHours(1), Bits(x, 16, 2) == 0 ? null : 9m).State,
                1 => BudgetMachine.Settle(state, $"r{Bits(x, 4, 8)}", Bits(x, 8, 40) / 10m, now).State,
                2 => BudgetMachine.Lease(state, $"i{Bits(x, 4, 3)}", 3m, now, TimeSpan.FromHours(1)).State,
                _ => Bits(x, 4, 2) == 0 ? BudgetMachine.Stop(state, "why", now).State : BudgetMachine.Resume(state, now).State,
            };
        }

        var json = BudgetStateCodec.Serialize(state);
        var back = BudgetStateCodec.Deserialize(json);
        return json == BudgetStateCodec.Serialize(back) && Snap(back, now) == Snap(state, now);
    }

    private static string Snap(BudgetState s, DateTimeOffset now)
    {
        var x = BudgetMachine.GetState(s, now);
        return $"{x.Scope}|{x.LimitUsd}|{x.SpentUsd}|{x.ReservedUsd}|{x.RemainingUsd}|{x.PeriodStart:O}|{x.PeriodEnd:O}|{x.Stopped}|{string.Join(',', x.ThresholdsRaised)}|{x.ActiveLeases}|{x.ActiveReservations}|{x.LeasesAvailable}";
    }
}
