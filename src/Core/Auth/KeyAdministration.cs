using System.Text.Json.Nodes;
using Gateway.Core.Configuration;

namespace Gateway.Core.Auth;

/// <summary>What an admin asks for when creating a key.</summary>
public sealed record CreateKeyRequest(string Name, string? User, string? Team, IReadOnlyList<string> AllowedModels, IReadOnlyDictionary<string, string> Tags);

/// <summary>The admin operations on gateway keys: create (the plain key is returned once), list, revoke.</summary>
public sealed class KeyAdministration(IKeyStore store, KeyAuthenticator authenticator, IModelCatalogSource catalogs, TimeProvider time)
{
    /// <summary>Creates a key and returns its record and the plain key, which is never stored.</summary>
    public async Task<(GatewayKeyRecord Record, string PlainKey)> CreateAsync(CreateKeyRequest request, CancellationToken cancellationToken)
    {
        foreach (var model in request.AllowedModels)
        {
            if (model != "*" && !catalogs.Current.TryResolve(model, out _))
                throw Errors.Errors.InvalidRequest($"'allowed_models' names '{model}', which is not a model of this gateway.", "allowed_models", "model_not_found");
        }
        var key = KeyHasher.NewKey();
        var record = new GatewayKeyRecord(KeyHasher.NewId(), KeyHasher.Hash(key), KeyHasher.DisplayPrefix(key), request.Name,
            request.User, request.Team, request.AllowedModels, request.Tags, time.GetUtcNow());
        if (!await store.AddAsync(record, cancellationToken).ConfigureAwait(false))
            throw new InvalidOperationException("A freshly generated key collided with an existing one.");
        return (record, key);
    }

    /// <summary>Ensures a known key exists (the local development key); returns true when it was created.</summary>
    public async Task<bool> EnsureKeyAsync(string plainKey, string name, CancellationToken cancellationToken)
    {
        var hash = KeyHasher.Hash(plainKey);
        if (await store.FindByHashAsync(hash, cancellationToken).ConfigureAwait(false) is not null) return false;
        var record = new GatewayKeyRecord("key_dev", hash, KeyHasher.DisplayPrefix(plainKey), name, "dev", "dev", [], new Dictionary<string, string>(), time.GetUtcNow());
        return await store.AddAsync(record, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    public async Task<GatewayKeyRecord> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        var record = await store.RevokeAsync(id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false)
            ?? throw Errors.Errors.NotFound($"No gateway key has the id '{id}'.");
        authenticator.Invalidate(record.Hash);
        return record;
    }

    /// <summary>Parses the JSON body of a create-key request, naming any bad field.</summary>
    public static CreateKeyRequest ParseCreate(ReadOnlySpan<byte> body)
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(body) as JsonObject ?? throw Errors.Errors.InvalidRequest("The request body must be a JSON object.", null, "invalid_json");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw Errors.Errors.InvalidJson(ex.Message);
        }
        var name = Str(o, "name") ?? throw Errors.Errors.InvalidRequest("Missing required parameter: 'name'.", "name", "missing_required_parameter");
        if (name.Length is 0 or > 200) throw Errors.Errors.InvalidRequest("'name' must have 1 to 200 characters.", "name");
        var allowed = new List<string>();
        if (o["allowed_models"] is { } am)
        {
            if (am is not JsonArray arr) throw Errors.Errors.InvalidRequest("'allowed_models' must be an array of model names.", "allowed_models", "invalid_type");
            foreach (var item in arr)
            {
                if (item is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0) throw Errors.Errors.InvalidRequest("'allowed_models' must be an array of model names.", "allowed_models", "invalid_type");
                allowed.Add(s);
            }
        }
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["tags"] is { } t)
        {
            if (t is not JsonObject tobj) throw Errors.Errors.InvalidRequest("'tags' must be an object of string values.", "tags", "invalid_type");
            if (tobj.Count > MaxTags) throw Errors.Errors.InvalidRequest($"At most {MaxTags} tags are allowed per key.", "tags");
            foreach (var (k, v) in tobj)
            {
                if (v is not JsonValue tv || !tv.TryGetValue<string>(out var s)) throw Errors.Errors.InvalidRequest($"'tags.{k}' must be a string.", $"tags.{k}", "invalid_type");
                // a tag becomes a budget scope and a report dimension: bounded as request tags are
                if (k.Length == 0 || k.Length + s.Length + 1 > MaxTagLength)
                    throw Errors.Errors.InvalidRequest($"Each tag must be key=value of at most {MaxTagLength} characters in all.", $"tags.{k}");
                tags[k] = s;
            }
        }
        var user = Str(o, "user");
        var team = Str(o, "team");
        // the key's user and team name budget scopes and report dimensions: identifiers, bounded as a request's user is
        if (user?.Length > Protocol.ChatRequestParser.MaxIdentifierLength) throw Errors.Errors.InvalidRequest($"'user' must have at most {Protocol.ChatRequestParser.MaxIdentifierLength} characters.", "user");
        if (team?.Length > Protocol.ChatRequestParser.MaxIdentifierLength) throw Errors.Errors.InvalidRequest($"'team' must have at most {Protocol.ChatRequestParser.MaxIdentifierLength} characters.", "team");
        return new CreateKeyRequest(name, user, team, allowed, tags);
    }

    /// <summary>The most tags a key carries, and the longest <c>key=value</c> (as for request tags).</summary>
    public const int MaxTags = 20;
    public const int MaxTagLength = 128;

    /// <summary>The public view of a key record (no hash).</summary>
    public static JsonObject ToJson(GatewayKeyRecord r, string? plainKey = null)
    {
        var o = new JsonObject
        {
            ["id"] = r.Id,
            ["object"] = "gateway.key",
            ["name"] = r.Name,
            ["prefix"] = r.Prefix,
            ["user"] = r.User,
            ["team"] = r.Team,
            ["allowed_models"] = new JsonArray(r.AllowedModels.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            ["tags"] = new JsonObject(r.Tags.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["created_at"] = r.CreatedAt.ToUnixTimeSeconds(),
            ["revoked_at"] = r.RevokedAt?.ToUnixTimeSeconds(),
        };
        if (plainKey is not null) o["key"] = plainKey;
        return o;
    }

    private static string? Str(JsonObject o, string name)
    {
        if (o[name] is not { } node) return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw Errors.Errors.InvalidRequest($"Invalid type for '{name}': expected a string.", name, "invalid_type");
    }
}
