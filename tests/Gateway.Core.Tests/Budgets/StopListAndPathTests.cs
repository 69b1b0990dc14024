using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

public sealed class StopListAndPathTests
{
    private static readonly DateTimeOffset Now = T("2026-05-10T12:00:00Z");

    [Fact]
    public void Models_and_providers_stop_until_resumed_or_until_their_end()
    {
        var list = new StopListState();
        list = StopList.Stop(list, StopTarget.Model, "gpt-4o", "cost spike", Now);
        list = StopList.Stop(list, StopTarget.Provider, "anthropic", "incident", Now, until: Now.AddHours(1));
        Assert.Equal("cost spike", StopList.Find(list, StopTarget.Model, "GPT-4o", Now)!.Reason);
        Assert.Null(StopList.Find(list, StopTarget.Provider, "gpt-4o", Now));
        Assert.Equal("incident", StopList.FindFor(list, "claude-3", "anthropic", Now.AddMinutes(59))!.Reason);
        Assert.Null(StopList.FindFor(list, "claude-3", "anthropic", Now.AddHours(1)));
        Assert.Single(StopList.Prune(list, Now.AddHours(2)).Entries);
        list = StopList.Resume(list, StopTarget.Model, "gpt-4o", Now);
        Assert.Null(StopList.FindFor(list, "gpt-4o", "openai", Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => StopList.Stop(list, StopTarget.Model, "x", "r", Now, Now));
    }

    [Fact]
    public void A_request_must_fit_every_budget_on_its_path()
    {
        var key = BudgetMachine.Configure(null, Definition(100m) with { Scope = BudgetScope.ForKey("k") }, Now).State;
        var team = BudgetMachine.Configure(null, Definition(3m) with { Scope = BudgetScope.ForTeam("t") }, Now).State;
        var global = BudgetMachine.Configure(null, Definition(1000m) with { Scope = BudgetScope.Global }, Now).State;

        var ok = BudgetPath.Reserve([key, team, global], "r1", 2m, Now, Ttl);
        Assert.True(ok.Admitted);
        Assert.All(ok.States, s => Assert.True(s.Reservations.ContainsKey("r1")));

        var refused = BudgetPath.Reserve(ok.States, "r2", 2m, Now, Ttl);
        Assert.False(refused.Admitted);
        Assert.Equal(BudgetScope.ForTeam("t"), refused.RefusedBy);
        Assert.Equal(BudgetRefusal.LimitReached, refused.Refusal);
        Assert.All(refused.States, s => Assert.False(s.Reservations.ContainsKey("r2")));
        Assert.Equal(2m, refused.States[0].ReservedUsd);
    }
}
