using System.Text.Json;
using Gateway.Core.Budgets;
using static Gateway.Core.Tests.Budgets.BudgetTestData;

namespace Gateway.Core.Tests.Budgets;

public sealed class BudgetStateCodecTests
{
    private static readonly DateTimeOffset Now = T("2026-05-10T12:00:00Z");

    [Fact]
    public void A_busy_state_round_trips_exactly()
    {
        var state = New(100m, Now);
        state = BudgetMachine.Reserve(state, "r1", 1.123456789m, Now, Ttl).State;
        state = BudgetMachine.Reserve(state, "r2", 0.5m, Now, Ttl, maxCostUsd: 2m).State;
        state = BudgetMachine.Settle(state, "r0", 60.000001m, Now).State;
        state = BudgetMachine.Lease(state, "i1", 3m, Now, TimeSpan.FromMinutes(5)).State;
        state = BudgetMachine.Stop(state, "test", Now).State;

        var json = BudgetStateCodec.Serialize(state);
        Assert.Contains("\"schemaVersion\":2", json, StringComparison.Ordinal);
        Assert.Contains("\"period\":\"Monthly\"", json, StringComparison.Ordinal);
        var back = BudgetStateCodec.Deserialize(json);
        Assert.Equal(json, BudgetStateCodec.Serialize(back));
        Assert.Equal(1.123456789m, back.Reservations["r1"].AmountUsd);
        Assert.Equal(2m, back.Reservations["r2"].ExposureUsd);
        Assert.Equal(60.000001m, back.SpentUsd);
        Assert.Equal([0.5m], back.ThresholdsRaised.ToArray());
        Assert.True(back.Stopped);
        Assert.Equal(BudgetMachine.GetState(state, Now).ReservedUsd, BudgetMachine.GetState(back, Now).ReservedUsd);
    }

    [Fact]
    public void A_version_1_state_is_upgraded_and_keeps_working()
    {
        const string v1 = """
            {
              "schemaVersion": 1,
              "definition": { "scope": { "kind": "Key", "id": "key_1" }, "limitUsd": 10, "period": "Daily", "timeZone": "UTC" },
              "periodStart": "2026-05-10T00:00:00+00:00",
              "periodEnd": "2026-05-11T00:00:00+00:00",
              "spentUsd": 6,
              "raisedPercents": [50],
              "reservations": { "r1": { "amountUsd": 2, "expiresAt": "2026-05-10T13:00:00+00:00" } },
              "settledRequests": { "r0": "2026-05-11T12:00:00+00:00" }
            }
            """;
        var state = BudgetStateCodec.Deserialize(v1);
        Assert.Equal(BudgetState.CurrentSchemaVersion, state.SchemaVersion);
        Assert.Equal(BudgetScope.ForKey("key_1"), state.Definition.Scope);
        Assert.Equal([0.5m], state.ThresholdsRaised.ToArray());
        Assert.Equal(new BudgetReservation(2m, 2m, false, T("2026-05-10T13:00:00Z")), state.Reservations["r1"]);
        Assert.Equal(T("2026-05-10T00:00:00Z"), state.CreatedAt);
        Assert.Empty(state.Leases);

        var settled = BudgetMachine.Settle(state, "r1", 2m, Now);
        Assert.Equal(SettleKind.Settled, settled.Result.Kind);
        Assert.Equal([0.8m], settled.Alerts.Select(a => a.Threshold).ToArray());
        Assert.Equal(SettleKind.Duplicate, BudgetMachine.Settle(settled.State, "r0", 1m, Now).Result.Kind);
    }

    [Fact]
    public void Unknown_versions_and_non_objects_are_refused()
    {
        Assert.Throws<JsonException>(() => BudgetStateCodec.Deserialize("""{"schemaVersion": 99}"""));
        Assert.Throws<JsonException>(() => BudgetStateCodec.Deserialize("[]"));
    }
}
