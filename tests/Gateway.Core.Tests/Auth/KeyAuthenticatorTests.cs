using System.Text;
using System.Text.Json.Nodes;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Errors;
using Gateway.Core.Pipeline;
using Gateway.Core.Pipeline.Stages;
using Microsoft.Extensions.Time.Testing;
using Gateway.Testing;

namespace Gateway.Core.Tests.Auth;

public sealed class KeyAuthenticatorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly CountingStore _store = new();
    private readonly GatewayOptions _options = new() { KeyCacheSeconds = 30 };

    /// <summary>An in-memory store that counts lookups, so tests can see what the cache answered.</summary>
    private sealed class CountingStore : IKeyStore
    {
        public InMemoryKeyStore Inner { get; } = new();
        public int Lookups { get; private set; }

        public Task<GatewayKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken)
        {
            Lookups++;
            return Inner.FindByHashAsync(hash, cancellationToken);
        }

        public Task<bool> AddAsync(GatewayKeyRecord record, CancellationToken cancellationToken) => Inner.AddAsync(record, cancellationToken);
        public Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken) => Inner.ListAsync(cancellationToken);
        public Task<GatewayKeyRecord?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => Inner.RevokeAsync(id, at, cancellationToken);
    }

    private sealed class Headers(params (string Name, string Value)[] values) : IRequestHeaders
    {
        public string? Get(string name) => values.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
    }

    private KeyAuthenticator Authenticator() => new(_store, _options, _time);

    private static ModelCatalog Catalog() => ModelCatalog.Create(new CatalogOptions
    {
        Deployments = [new DeploymentOptions { Name = "mock", Provider = "mock" }],
        Models =
        [
            new ModelOptions { Name = "gpt-4o", Aliases = ["gpt4o"], Deployments = ["mock"] },
            new ModelOptions { Name = "mock-1", Deployments = ["mock"] },
        ],
    }, TestSecrets.None);

    private (KeyAuthenticator Auth, KeyAdministration Admin) Administration()
    {
        var auth = Authenticator();
        return (auth, new KeyAdministration(_store, auth, Catalog(), _time));
    }

    private static CreateKeyRequest Create(string name = "billing", params string[] allowed) =>
        new(name, "svc-billing", "payments", allowed, new Dictionary<string, string> { ["env"] = "prod" });

    // ---- KeyHasher ----

    [Fact]
    public void Hash_is_lower_case_hex_sha256_of_the_utf8_key()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", KeyHasher.Hash(""));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", KeyHasher.Hash("abc"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("sk-gw-ü"))), KeyHasher.Hash("sk-gw-ü"));
    }

    [Fact]
    public void New_keys_are_prefixed_url_safe_and_unique()
    {
        var keys = Enumerable.Range(0, 200).Select(_ => KeyHasher.NewKey()).ToList();
        Assert.Equal(200, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys, k =>
        {
            Assert.StartsWith("sk-gw-", k, StringComparison.Ordinal);
            Assert.Equal(6 + 43, k.Length);
            Assert.All(k[6..], c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"unexpected '{c}'"));
        });
    }

    [Fact]
    public void New_ids_are_twelve_base32_characters()
    {
        var ids = Enumerable.Range(0, 200).Select(_ => KeyHasher.NewId()).ToList();
        Assert.All(ids, id =>
        {
            Assert.Matches("^key_[a-z2-7]{12}$", id);
        });
        Assert.True(ids.Distinct(StringComparer.Ordinal).Count() > 195);
    }

    [Theory]
    [InlineData("sk-gw-abcdefghijk", "sk-gw-abcd…")]
    [InlineData("0123456789", "0123…")]
    [InlineData("abc", "abc…")]
    [InlineData("", "…")]
    public void Display_prefix_shows_at_most_ten_characters(string key, string expected)
    {
        Assert.Equal(expected, KeyHasher.DisplayPrefix(key));
    }

    [Fact]
    public void Hash_equality_is_exact()
    {
        var h = KeyHasher.Hash("k");
        Assert.True(KeyHasher.HashEquals(h, KeyHasher.Hash("k")));
        Assert.False(KeyHasher.HashEquals(h, KeyHasher.Hash("K")));
        Assert.False(KeyHasher.HashEquals(h, h[..^1]));
    }

    // ---- KeyAuthenticator ----

    [Fact]
    public async Task A_flood_of_unknown_keys_neither_evicts_the_keys_in_use_nor_makes_every_miss_a_storage_read()
    {
        var (auth, admin) = Administration();
        var (_, key) = await admin.CreateAsync(Create(), default);
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        var before = _store.Lookups;

        // 150,000 random keys within one second (the clock does not move): beyond the lookup budget they are refused
        // with 429 and no read; the cache of unknown keys overflows and is cleared, the known key's entry is not
        var refused = 0;
        for (var i = 0; i < 150_000; i++)
        {
            try
            {
                Assert.Null(await auth.AuthenticateAsync(KeyHasher.NewKey(), default));
            }
            catch (GatewayException ex) when (ex.Error.Status == 429)
            {
                Assert.Equal("rate_limit_exceeded", ex.Error.Code);
                Assert.Equal(1, ex.Error.RetryAfterSeconds);
                refused++;
            }
        }

        // (the real key's first use took one lookup of the burst)
        var budget = (int)KeyAuthenticator.UnknownLookupBurst - 1;
        Assert.Equal(budget, _store.Lookups - before);
        Assert.Equal(150_000 - budget, refused);
        var lookups = _store.Lookups;
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.Equal(lookups, _store.Lookups); // still cached

        // the budget refills with time; a known key is re-read when its entry expires, whatever the budget
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.Equal(lookups + 1, _store.Lookups);
        Assert.Null(await auth.AuthenticateAsync(KeyHasher.NewKey(), default));
    }

    [Fact]
    public async Task A_known_key_yields_its_principal()
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create("billing", "gpt-4o"), default);
        var principal = await Authenticator().AuthenticateAsync(key, default);
        Assert.NotNull(principal);
        Assert.Equal(record.Id, principal.KeyId);
        Assert.Equal("billing", principal.KeyName);
        Assert.Equal("svc-billing", principal.User);
        Assert.Equal("payments", principal.Team);
        Assert.Equal(["gpt-4o"], principal.AllowedModels);
        Assert.Equal("prod", principal.Tags["env"]);
    }

    [Fact]
    public async Task An_unknown_key_yields_null()
    {
        Assert.Null(await Authenticator().AuthenticateAsync("sk-gw-unknown", default));
    }

    [Fact]
    public async Task A_revoked_key_yields_null()
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create(), default);
        await _store.RevokeAsync(record.Id, Start, default);
        Assert.Null(await Authenticator().AuthenticateAsync(key, default));
    }

    [Fact]
    public async Task A_store_record_whose_hash_differs_from_the_presented_key_is_refused()
    {
        var store = new LyingStore();
        var auth = new KeyAuthenticator(store, _options, _time);
        Assert.Null(await auth.AuthenticateAsync("sk-gw-anything", default));
    }

    private sealed class LyingStore : IKeyStore
    {
        public Task<GatewayKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
            Task.FromResult<GatewayKeyRecord?>(new GatewayKeyRecord("key_x", KeyHasher.Hash("another"), "p", "n", null, null, [], new Dictionary<string, string>(), Start));
        public Task<bool> AddAsync(GatewayKeyRecord record, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<GatewayKeyRecord?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Known_keys_are_cached_for_the_configured_time()
    {
        var (_, admin) = Administration();
        var (_, key) = await admin.CreateAsync(Create(), default);
        var auth = Authenticator();

        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.Equal(1, _store.Lookups);

        _time.Advance(TimeSpan.FromSeconds(29.9));
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.Equal(1, _store.Lookups);

        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.NotNull(await auth.AuthenticateAsync(key, default));
        Assert.Equal(2, _store.Lookups);
    }

    [Fact]
    public async Task Unknown_keys_are_cached_for_a_fifth_of_the_time()
    {
        var auth = Authenticator();
        Assert.Null(await auth.AuthenticateAsync("sk-gw-nope", default));
        _time.Advance(TimeSpan.FromSeconds(5.9));
        Assert.Null(await auth.AuthenticateAsync("sk-gw-nope", default));
        Assert.Equal(1, _store.Lookups);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Null(await auth.AuthenticateAsync("sk-gw-nope", default));
        Assert.Equal(2, _store.Lookups);
    }

    [Fact]
    public async Task A_key_created_after_a_failed_lookup_works_once_the_negative_entry_expires()
    {
        var auth = Authenticator();
        const string key = "sk-gw-dev-local";
        Assert.Null(await auth.AuthenticateAsync(key, default));
        var admin = new KeyAdministration(_store, auth, Catalog(), _time);
        Assert.True(await admin.EnsureKeyAsync(key, "dev", default));
        Assert.Null(await auth.AuthenticateAsync(key, default));
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("key_dev", (await auth.AuthenticateAsync(key, default))?.KeyId);
    }

    [Fact]
    public async Task With_a_zero_cache_time_every_lookup_reaches_the_store()
    {
        _options.KeyCacheSeconds = 0;
        var (_, admin) = Administration();
        var (_, key) = await admin.CreateAsync(Create(), default);
        var auth = Authenticator();
        for (var i = 0; i < 3; i++) Assert.NotNull(await auth.AuthenticateAsync(key, default));
        for (var i = 0; i < 2; i++) Assert.Null(await auth.AuthenticateAsync("sk-gw-x", default));
        Assert.Equal(5, _store.Lookups);
    }

    [Fact]
    public async Task A_negative_cache_time_is_treated_as_zero()
    {
        _options.KeyCacheSeconds = -10;
        var auth = Authenticator();
        await auth.AuthenticateAsync("sk-gw-x", default);
        await auth.AuthenticateAsync("sk-gw-x", default);
        Assert.Equal(2, _store.Lookups);
    }

    [Fact]
    public async Task A_revoke_on_this_instance_takes_effect_at_once()
    {
        var (auth, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create(), default);
        Assert.NotNull(await auth.AuthenticateAsync(key, default));

        await admin.RevokeAsync(record.Id, default);
        Assert.Null(await auth.AuthenticateAsync(key, default));
    }

    [Fact]
    public async Task A_revoke_on_another_instance_takes_effect_when_the_cache_entry_expires()
    {
        var (auth, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create(), default);
        var otherInstance = Authenticator();
        Assert.NotNull(await otherInstance.AuthenticateAsync(key, default));

        await admin.RevokeAsync(record.Id, default);
        Assert.Null(await auth.AuthenticateAsync(key, default));
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(await otherInstance.AuthenticateAsync(key, default));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await otherInstance.AuthenticateAsync(key, default));
        // and the revoked answer is cached too
        var lookups = _store.Lookups;
        Assert.Null(await otherInstance.AuthenticateAsync(key, default));
        Assert.Equal(lookups, _store.Lookups);
    }

    [Fact]
    public async Task Invalidate_drops_only_the_given_hash()
    {
        var (_, admin) = Administration();
        var (_, key1) = await admin.CreateAsync(Create("a"), default);
        var (_, key2) = await admin.CreateAsync(Create("b"), default);
        var auth = Authenticator();
        await auth.AuthenticateAsync(key1, default);
        await auth.AuthenticateAsync(key2, default);
        auth.Invalidate(KeyHasher.Hash(key1));
        await auth.AuthenticateAsync(key1, default);
        await auth.AuthenticateAsync(key2, default);
        Assert.Equal(3, _store.Lookups);
    }

    // ---- AuthenticationStage: 401s ----

    private static GatewayContext Context(IRequestHeaders headers) =>
        new("req_1", headers, new MemoryStream(), 0, TimeProvider.System, CancellationToken.None);

    private static readonly GatewayHandler Terminal = _ => ValueTask.FromResult<GatewayResult>(new GatewayResult.Completion(new JsonObject(), null));

    [Fact]
    public async Task No_key_is_401_missing_api_key()
    {
        var stage = new AuthenticationStage(Authenticator());
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await stage.InvokeAsync(Context(new Headers()), Terminal))).Error;
        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("missing_api_key", error.Code);
        Assert.Null(error.Param);
    }

    [Theory]
    [InlineData("sk-gw-unknown")]
    [InlineData("")]
    public async Task An_unknown_or_revoked_key_is_401_invalid_api_key(string which)
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create(), default);
        await admin.RevokeAsync(record.Id, default);
        var presented = which.Length == 0 ? key : which;
        var stage = new AuthenticationStage(Authenticator());
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await stage.InvokeAsync(Context(new Headers(("Authorization", "Bearer " + presented))), Terminal))).Error;
        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_api_key", error.Code);
        Assert.Equal("Incorrect API key provided. The key is unknown or has been revoked.", error.Message);
    }

    [Fact]
    public async Task A_valid_key_sets_the_principal_and_continues()
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create(), default);
        var stage = new AuthenticationStage(Authenticator());
        var context = Context(new Headers(("api-key", key)));
        var called = false;
        await stage.InvokeAsync(context, c => { called = true; return Terminal(c); });
        Assert.True(called);
        Assert.Equal(record.Id, context.Principal?.KeyId);
    }

    [Theory]
    [InlineData("Authorization", "Bearer sk-gw-1", "sk-gw-1")]
    [InlineData("Authorization", "bearer   sk-gw-1  ", "sk-gw-1")]
    [InlineData("Authorization", "Bearer ", null)]
    [InlineData("Authorization", "Basic abc", null)]
    [InlineData("Authorization", "sk-gw-1", null)]
    [InlineData("api-key", " sk-gw-2 ", "sk-gw-2")]
    [InlineData("api-key", "  ", null)]
    [InlineData("x-api-key", "sk-gw-3", null)]
    public void The_key_is_read_from_bearer_auth_or_api_key(string header, string value, string? expected)
    {
        Assert.Equal(expected, AuthenticationStage.PresentedKey(new Headers((header, value))));
    }

    [Fact]
    public void Authorization_wins_over_api_key_even_when_it_is_not_bearer()
    {
        Assert.Equal("a", AuthenticationStage.PresentedKey(new Headers(("Authorization", "Bearer a"), ("api-key", "b"))));
        Assert.Null(AuthenticationStage.PresentedKey(new Headers(("Authorization", "Basic x"), ("api-key", "b"))));
    }

    // ---- Model allow-lists: 403 ----

    [Fact]
    public async Task A_model_the_key_may_not_use_is_403_model_not_allowed()
    {
        var (_, admin) = Administration();
        var (_, key) = await admin.CreateAsync(Create("k", "mock-1"), default);
        var context = Context(new Headers());
        context.Principal = await Authenticator().AuthenticateAsync(key, default);
        context.Request = Gateway.Core.Protocol.ChatRequestParser.Parse("""{"model":"gpt4o","messages":[{"role":"user","content":"hi"}]}"""u8);
        var stage = new ModelResolutionStage(Catalog());
        var error = (await Assert.ThrowsAsync<GatewayException>(async () => await stage.InvokeAsync(context, Terminal))).Error;
        Assert.Equal(new GatewayError(403, "Your key is not allowed to use the model 'gpt4o'.", "permission_error", "model", "model_not_allowed"), error);
    }

    [Theory]
    [InlineData("gpt-4o", "gpt4o")]
    [InlineData("gpt4o", "gpt-4o")]
    [InlineData("*", "mock-1")]
    public async Task A_model_allowed_by_name_alias_or_wildcard_resolves(string allowed, string asked)
    {
        var (_, admin) = Administration();
        var (_, key) = await admin.CreateAsync(Create("k", allowed), default);
        var context = Context(new Headers());
        context.Principal = await Authenticator().AuthenticateAsync(key, default);
        context.Request = Gateway.Core.Protocol.ChatRequestParser.Parse(Encoding.UTF8.GetBytes($$"""{"model":"{{asked}}","messages":[{"role":"user","content":"hi"}]}"""));
        await new ModelResolutionStage(Catalog()).InvokeAsync(context, Terminal);
        Assert.Equal(asked == "mock-1" ? "mock-1" : "gpt-4o", context.Model?.Name);
        Assert.Equal(context.Model?.Name, context.ResponseHeaders[GatewayHeaders.Model]);
    }

    // ---- KeyAdministration ----

    [Fact]
    public async Task Create_stores_only_the_hash_and_returns_the_plain_key_once()
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create("billing", "gpt-4o", "*"), default);

        Assert.StartsWith("sk-gw-", key, StringComparison.Ordinal);
        Assert.Equal(KeyHasher.Hash(key), record.Hash);
        Assert.Equal(key[..10] + "…", record.Prefix);
        Assert.Equal(Start, record.CreatedAt);
        Assert.False(record.IsRevoked);
        Assert.Matches("^key_[a-z2-7]{12}$", record.Id);

        var stored = Assert.Single(await admin.ListAsync(default));
        Assert.Equal(record, stored);
        var storedText = System.Text.Json.JsonSerializer.Serialize(stored);
        Assert.DoesNotContain(key, storedText, StringComparison.Ordinal);
        Assert.DoesNotContain(key[10..], storedText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_allowed_models_the_catalog_does_not_have()
    {
        var (_, admin) = Administration();
        var error = (await Assert.ThrowsAsync<GatewayException>(() => admin.CreateAsync(Create("k", "gpt-4o", "gpt-5"), default))).Error;
        Assert.Equal(new GatewayError(400, "'allowed_models' names 'gpt-5', which is not a model of this gateway.", "invalid_request_error", "allowed_models", "model_not_found"), error);
        Assert.Empty(await admin.ListAsync(default));
    }

    [Fact]
    public async Task List_returns_keys_in_creation_order_including_revoked_ones()
    {
        var (_, admin) = Administration();
        var (a, _) = await admin.CreateAsync(Create("a"), default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var (b, _) = await admin.CreateAsync(Create("b"), default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var (c, _) = await admin.CreateAsync(Create("c"), default);
        await admin.RevokeAsync(b.Id, default);

        var list = await admin.ListAsync(default);
        Assert.Equal([a.Id, b.Id, c.Id], list.Select(r => r.Id));
        Assert.Equal([false, true, false], list.Select(r => r.IsRevoked));
    }

    [Fact]
    public async Task Revoke_records_the_time_once_and_an_unknown_id_is_404()
    {
        var (_, admin) = Administration();
        var (record, _) = await admin.CreateAsync(Create(), default);
        _time.Advance(TimeSpan.FromMinutes(5));
        var revoked = await admin.RevokeAsync(record.Id, default);
        Assert.Equal(Start.AddMinutes(5), revoked.RevokedAt);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(Start.AddMinutes(5), (await admin.RevokeAsync(record.Id, default)).RevokedAt);

        var error = (await Assert.ThrowsAsync<GatewayException>(() => admin.RevokeAsync("key_missing", default))).Error;
        Assert.Equal(new GatewayError(404, "No gateway key has the id 'key_missing'.", "invalid_request_error", null, "not_found"), error);
    }

    [Fact]
    public async Task Ensure_key_creates_the_dev_key_once()
    {
        var (auth, admin) = Administration();
        Assert.True(await admin.EnsureKeyAsync("sk-gw-dev-local", "dev key", default));
        Assert.False(await admin.EnsureKeyAsync("sk-gw-dev-local", "dev key", default));
        var record = Assert.Single(await admin.ListAsync(default));
        Assert.Equal("key_dev", record.Id);
        Assert.Equal("sk-gw-dev-…", record.Prefix);
        Assert.Equal("dev", record.User);
        Assert.Empty(record.AllowedModels);
        Assert.Equal("dev key", (await auth.AuthenticateAsync("sk-gw-dev-local", default))?.KeyName);
    }

    [Fact]
    public void Parse_create_reads_every_field()
    {
        var request = KeyAdministration.ParseCreate("""{"name":"billing-service","user":"svc","team":"payments","allowed_models":["gpt-4o","mock-1"],"tags":{"env":"prod","cost":"cc1"}}"""u8);
        Assert.Equal("billing-service", request.Name);
        Assert.Equal("svc", request.User);
        Assert.Equal("payments", request.Team);
        Assert.Equal(["gpt-4o", "mock-1"], request.AllowedModels);
        Assert.Equal(new Dictionary<string, string> { ["env"] = "prod", ["cost"] = "cc1" }, request.Tags);

        var minimal = KeyAdministration.ParseCreate("""{"name":"n"}"""u8);
        Assert.Null(minimal.User);
        Assert.Null(minimal.Team);
        Assert.Empty(minimal.AllowedModels);
        Assert.Empty(minimal.Tags);
    }

    [Theory]
    [InlineData("{", null, "invalid_json")]
    [InlineData("[]", null, "invalid_json")]
    [InlineData("{}", "name", "missing_required_parameter")]
    [InlineData("""{"name":""}""", "name", null)]
    [InlineData("""{"name":5}""", "name", "invalid_type")]
    [InlineData("""{"name":"n","user":1}""", "user", "invalid_type")]
    [InlineData("""{"name":"n","team":[]}""", "team", "invalid_type")]
    [InlineData("""{"name":"n","allowed_models":"gpt-4o"}""", "allowed_models", "invalid_type")]
    [InlineData("""{"name":"n","allowed_models":[""]}""", "allowed_models", "invalid_type")]
    [InlineData("""{"name":"n","allowed_models":[1]}""", "allowed_models", "invalid_type")]
    [InlineData("""{"name":"n","tags":[]}""", "tags", "invalid_type")]
    [InlineData("""{"name":"n","tags":{"env":1}}""", "tags.env", "invalid_type")]
    public void Parse_create_names_each_bad_field(string json, string? param, string? code)
    {
        var error = Assert.Throws<GatewayException>(() => KeyAdministration.ParseCreate(Encoding.UTF8.GetBytes(json))).Error;
        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Parse_create_limits_the_name_to_200_characters()
    {
        Assert.Equal(200, KeyAdministration.ParseCreate(Encoding.UTF8.GetBytes($$"""{"name":"{{new string('n', 200)}}"}""")).Name.Length);
        var error = Assert.Throws<GatewayException>(() => KeyAdministration.ParseCreate(Encoding.UTF8.GetBytes($$"""{"name":"{{new string('n', 201)}}"}"""))).Error;
        Assert.Equal("'name' must have 1 to 200 characters.", error.Message);
    }

    [Fact]
    public async Task The_public_view_has_no_hash_and_the_key_only_when_given()
    {
        var (_, admin) = Administration();
        var (record, key) = await admin.CreateAsync(Create("billing", "gpt-4o"), default);
        var view = KeyAdministration.ToJson(record);
        Assert.Equal(
            $$"""{"id":"{{record.Id}}","object":"gateway.key","name":"billing","prefix":"{{record.Prefix}}","user":"svc-billing","team":"payments","allowed_models":["gpt-4o"],"tags":{"env":"prod"},"created_at":{{Start.ToUnixTimeSeconds()}},"revoked_at":null}""",
            view.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Assert.DoesNotContain(record.Hash, view.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(key, (string?)KeyAdministration.ToJson(record, key)["key"]);
        var revoked = record with { RevokedAt = Start.AddHours(1) };
        Assert.Equal(Start.AddHours(1).ToUnixTimeSeconds(), (long)KeyAdministration.ToJson(revoked)["revoked_at"]!);
    }

    // ---- AdminAuthenticator ----

    [Fact]
    public void The_admin_key_is_accepted_and_anything_else_is_401()
    {
        var admin = new AdminAuthenticator(new GatewayOptions { AdminKey = "sk-gw-admin-local" });
        admin.Demand("sk-gw-admin-local");
        foreach (var wrong in new[] { null, "", "sk-gw-admin-loca", "SK-GW-ADMIN-LOCAL", "sk-gw-admin-local " })
        {
            var error = Assert.Throws<GatewayException>(() => admin.Demand(wrong)).Error;
            Assert.Equal(new GatewayError(401, "The admin API requires a valid admin key (Authorization: Bearer ADMIN_KEY).", "invalid_request_error", null, "invalid_admin_key"), error);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/admin/)")]
    public void Without_a_usable_admin_key_the_admin_api_is_403_disabled(string? configured)
    {
        var admin = new AdminAuthenticator(new GatewayOptions { AdminKey = configured });
        var error = Assert.Throws<GatewayException>(() => admin.Demand(configured ?? "anything")).Error;
        Assert.Equal(403, error.Status);
        Assert.Equal("permission_error", error.Type);
        Assert.Equal("admin_disabled", error.Code);
    }
}
