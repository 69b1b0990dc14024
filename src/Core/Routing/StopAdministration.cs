using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Budgets;

namespace Gateway.Core.Routing;

/// <summary>The emergency-stop admin API's rules: stop or resume a model or a provider everywhere, list what is stopped.</summary>
public sealed class StopAdministration(UpstreamGate gate, TimeProvider time)
{
    public static StopTarget ParseTarget(string target) => target.ToLowerInvariant() switch
    {
        "model" or "models" => StopTarget.Model,
        "provider" or "providers" => StopTarget.Provider,
        _ => throw Errors.Errors.NotFound($"Unknown stop target '{target}': use model or provider."),
    };

    public async Task<JsonObject> StopAsync(string target, string name, byte[] body, CancellationToken cancellationToken)
    {
        string? reason = null;
        DateTimeOffset? until = null;
        if (body.Length > 0)
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

            reason = o["reason"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : null;
            if (o["until"] is { } u)
            {
                if (u is not JsonValue uv || !uv.TryGetValue<string>(out var us) ||
                    !DateTimeOffset.TryParse(us, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                    throw Errors.Errors.InvalidRequest("'until' must be an ISO 8601 time.", "until");
                if (parsed <= time.GetUtcNow()) throw Errors.Errors.InvalidRequest("'until' must be in the future.", "until");
                until = parsed;
            }
        }

        if (string.IsNullOrWhiteSpace(name)) throw Errors.Errors.InvalidRequest("Name the model or provider to stop.", "name");
        return ToJson(await ChangeAsync(new StopCommand(true, ParseTarget(target), name, reason, until), cancellationToken).ConfigureAwait(false));
    }

    public async Task<JsonObject> ResumeAsync(string target, string name, CancellationToken cancellationToken)
    {
        return ToJson(await ChangeAsync(new StopCommand(false, ParseTarget(target), name), cancellationToken).ConfigureAwait(false));
    }

    private async Task<StopListState> ChangeAsync(StopCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await gate.ChangeStopsAsync(command, AdminTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw Errors.Errors.DependencyUnavailable("the stop list", "upstream_limits_unavailable", ex);
        }
    }

    /// <summary>How long a stop or resume waits for the stop list to answer.</summary>
    public static TimeSpan AdminTimeout { get; } = TimeSpan.FromSeconds(30);

    public async Task<JsonObject> ListAsync(CancellationToken cancellationToken) => ToJson(await gate.ReadStopsAsync(cancellationToken).ConfigureAwait(false));

    private JsonObject ToJson(StopListState state)
    {
        var now = time.GetUtcNow();
        var data = new JsonArray();
        foreach (var (key, entry) in StopList.Prune(state, now).Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            data.Add(new JsonObject
            {
                ["target"] = key[..colon],
                ["name"] = key[(colon + 1)..],
                ["reason"] = entry.Reason,
                ["stopped_at"] = entry.StoppedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["until"] = entry.Until?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            });
        }

        return new JsonObject { ["object"] = "list", ["data"] = data };
    }
}
