using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Core.Budgets;

/// <summary>The budget admin API's rules: parse and validate definitions, run commands, render snapshots.</summary>
public sealed class BudgetAdministration(BudgetGate gate)
{
    public static BudgetScope ParseScope(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw Errors.Errors.InvalidRequest("A budget scope is required: key:<id>, user:<id>, team:<id>, tag:<name>=<value> or global.", "scope");
        try
        {
            var scope = BudgetScope.Parse(Uri.UnescapeDataString(text));
            if (!scope.IsValid) throw new FormatException();
            return scope;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw Errors.Errors.InvalidRequest($"'{text}' is not a budget scope: use key:<id>, user:<id>, team:<id>, tag:<name>=<value> or global.", "scope");
        }
    }

    /// <summary>Reads <c>{"scope","limit_usd","period","time_zone","week_starts_on","thresholds","mode"}</c>.</summary>
    public static BudgetDefinition ParseDefinition(byte[] body, string? scopeFromRoute)
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(body) as JsonObject ?? throw Errors.Errors.InvalidRequest("The body must be a JSON object.", null, "invalid_json");
        }
        catch (JsonException ex)
        {
            throw Errors.Errors.InvalidJson(ex.Message);
        }

        var scope = ParseScope(scopeFromRoute ?? Str(o, "scope"));
        if (o["limit_usd"] is not JsonValue lv || !lv.TryGetValue<decimal>(out var limit))
            throw Errors.Errors.InvalidRequest("'limit_usd' is required: a number of US dollars.", "limit_usd");
        var period = Str(o, "period") ?? "monthly";
        if (!Enum.TryParse<BudgetPeriodKind>(period, ignoreCase: true, out var periodKind) || !Enum.IsDefined(periodKind))
            throw Errors.Errors.InvalidRequest($"'period' must be daily, weekly, monthly or lifetime (was '{period}').", "period");
        var mode = Str(o, "mode") ?? "strict";
        if (!Enum.TryParse<BudgetMode>(mode.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var budgetMode) || !Enum.IsDefined(budgetMode))
            throw Errors.Errors.InvalidRequest($"'mode' must be strict or alert_only (was '{mode}').", "mode");
        var weekStart = Str(o, "week_starts_on") ?? "monday";
        if (!Enum.TryParse<DayOfWeek>(weekStart, ignoreCase: true, out var day) || !Enum.IsDefined(day))
            throw Errors.Errors.InvalidRequest($"'week_starts_on' must be a day of the week (was '{weekStart}').", "week_starts_on");
        var thresholds = ImmutableArray.Create(0.5m, 0.8m, 1.0m);
        if (o["thresholds"] is JsonArray t)
        {
            var list = new List<decimal>();
            foreach (var item in t)
            {
                if (item is not JsonValue v || !v.TryGetValue<decimal>(out var d)) throw Errors.Errors.InvalidRequest("'thresholds' must be numbers such as 0.5, 0.8, 1.0.", "thresholds");
                list.Add(d);
            }

            thresholds = [.. list];
        }

        var definition = new BudgetDefinition
        {
            Scope = scope,
            LimitUsd = limit,
            Period = periodKind,
            TimeZone = Str(o, "time_zone") ?? "UTC",
            WeekStartsOn = day,
            AlertThresholds = thresholds,
            Mode = budgetMode,
            Leases = o["max_request_cost_usd"] is JsonValue m && m.TryGetValue<decimal>(out var maxRequest) ? new BudgetLeasePolicy { MaxRequestCostUsd = maxRequest } : new BudgetLeasePolicy(),
        };
        var errors = definition.Errors();
        if (errors.Count > 0) throw Errors.Errors.InvalidRequest("The budget is invalid: " + string.Join(" ", errors), null, "invalid_budget");
        return definition;
    }

    private static string? Str(JsonObject o, string name) =>
        o[name] is null ? null : o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Errors.Errors.InvalidRequest($"'{name}' must be a string.", name);

    public async Task<JsonObject> ConfigureAsync(BudgetDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var result = await CommandAsync(definition.Scope, new BudgetCommand { Op = BudgetOp.Configure, Definition = definition }, cancellationToken).ConfigureAwait(false);
        return ToJson(result.Snapshot!);
    }

    public async Task<JsonObject> RunAsync(BudgetScope scope, BudgetOp op, string? reason, CancellationToken cancellationToken)
    {
        if (op == BudgetOp.Get)
        {
            var snapshot = await gate.GetAsync(scope, cancellationToken).ConfigureAwait(false) ?? throw Errors.Errors.NotFound($"No budget is configured for '{scope}'.");
            return ToJson(snapshot);
        }

        var result = await CommandAsync(scope, new BudgetCommand { Op = op, Reason = reason }, cancellationToken).ConfigureAwait(false);
        if (!result.Exists) throw Errors.Errors.NotFound($"No budget is configured for '{scope}'.");
        return op == BudgetOp.Delete ? new JsonObject { ["scope"] = scope.ToString(), ["deleted"] = true } : ToJson(result.Snapshot!);
    }

    /// <summary>The budget's state, or null when none is configured (the audit log's "before").</summary>
    public async Task<JsonNode?> FindAsync(BudgetScope scope, CancellationToken cancellationToken) =>
        await gate.GetAsync(scope, cancellationToken).ConfigureAwait(false) is { } snapshot ? ToJson(snapshot) : null;

    private async Task<BudgetCommandResult> CommandAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await gate.CommandAsync(scope, command, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw Errors.Errors.DependencyUnavailable($"the budget '{scope}'", "budgets_unavailable", ex);
        }
    }

    public async Task<JsonObject> ListAsync(CancellationToken cancellationToken)
    {
        var list = await gate.ListAsync(cancellationToken).ConfigureAwait(false);
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. list.OrderBy(s => s.Scope.ToString(), StringComparer.Ordinal).Select(s => (JsonNode)ToJson(s))]),
        };
    }

    public static JsonObject ToJson(BudgetSnapshot s) => new()
    {
        ["scope"] = s.Scope.ToString(),
        ["limit_usd"] = s.LimitUsd,
        ["spent_usd"] = s.SpentUsd,
        ["reserved_usd"] = s.ReservedUsd,
        ["remaining_usd"] = s.RemainingUsd,
        ["period_start"] = s.PeriodStart.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["period_end"] = s.PeriodEnd.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["stopped"] = s.Stopped,
        ["thresholds_raised"] = new JsonArray([.. s.ThresholdsRaised.Select(t => (JsonNode)t)]),
        ["mode"] = s.Mode.ToString().ToLowerInvariant(),
    };
}
