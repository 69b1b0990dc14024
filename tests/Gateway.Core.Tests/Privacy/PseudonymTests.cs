using Gateway.Core.Audit;
using Gateway.Core.Auth;
using Gateway.Core.Configuration;
using Gateway.Core.Hosting;
using Gateway.Core.Privacy;
using Gateway.Core.Usage;
using Gateway.Testing;

namespace Gateway.Core.Tests.Privacy;

/// <summary>The pepper behind end-user hashes, and usage records that name end users by their hash.</summary>
[Trait("Category", "Pipeline")]
public sealed class PseudonymTests
{
    private static Func<string, string?> Settings(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    private static readonly SubjectHasher Hasher = new("a test pepper of at least thirty-two characters"u8.ToArray());

    [Fact]
    public void A_configured_pepper_keys_the_hashes_and_a_short_or_unresolved_one_stops_startup()
    {
        var pepper = new string('p', PrivacyPepper.MinLength);
        var resolved = PrivacyPepper.Resolve(pepper, Settings());
        Assert.Null(resolved.Warning);
        Assert.Equal(new SubjectHasher(System.Text.Encoding.UTF8.GetBytes(pepper)).Hash("alice"), resolved.Hasher!.Hash("alice"));
        Assert.NotEqual(resolved.Hasher.Hash("alice"), PrivacyPepper.Resolve(new string('q', PrivacyPepper.MinLength), Settings()).Hasher!.Hash("alice"));

        var tooShort = Assert.Throws<InvalidOperationException>(() => PrivacyPepper.Resolve("short-secret", Settings()));
        Assert.Contains(PrivacyPepper.Setting, tooShort.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret", tooShort.Message, StringComparison.Ordinal);
        var reference = Assert.Throws<InvalidOperationException>(() => PrivacyPepper.Resolve("@Microsoft.KeyVault(SecretUri=https://v/secrets/p)", Settings()));
        Assert.Contains("Key Vault reference", reference.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_pepper_development_gets_a_stable_one_with_a_warning_and_anywhere_else_none()
    {
        var development = Settings(("AZURE_FUNCTIONS_ENVIRONMENT", "Development"));
        var first = PrivacyPepper.Resolve(null, development);
        Assert.Contains(PrivacyPepper.Setting, first.Warning, StringComparison.Ordinal);
        Assert.Equal(first.Hasher!.Hash("alice"), PrivacyPepper.Resolve("", development).Hasher!.Hash("alice"));

        Assert.Equal(new PepperResolution(null, null), PrivacyPepper.Resolve(null, Settings(("AZURE_FUNCTIONS_ENVIRONMENT", "Production"))));
        Assert.Equal(new PepperResolution(null, null), PrivacyPepper.Resolve(null, Settings(("WEBSITE_INSTANCE_ID", "abc"), ("AZURE_FUNCTIONS_ENVIRONMENT", "Development"))));
        Assert.Equal(new PepperResolution(null, null), PrivacyPepper.Resolve(null, Settings()));
    }

    [Fact]
    public void Pseudonyms_apply_to_everyone_or_per_team_and_need_a_pepper()
    {
        var everyone = new UserPseudonyms(new PrivacyOptions { PseudonymizeUsers = true, Teams = { ["open"] = false } }, Hasher);
        Assert.Equal(Hasher.Hash("alice"), everyone.Stored("alice", "payments"));
        Assert.Equal(Hasher.Hash("alice"), everyone.Stored("alice", null));
        Assert.Equal("alice", everyone.Stored("alice", "open"));
        Assert.Null(everyone.Stored(null, "payments"));

        var oneTeam = new UserPseudonyms(new PrivacyOptions { Teams = { ["payments"] = true } }, Hasher);
        Assert.Equal(Hasher.Hash("alice"), oneTeam.Stored("alice", "payments"));
        Assert.Equal("alice", oneTeam.Stored("alice", "search"));

        Assert.Equal("alice", new UserPseudonyms(new PrivacyOptions(), null).Stored("alice", "payments"));
        Assert.Throws<InvalidOperationException>(() => new UserPseudonyms(new PrivacyOptions { PseudonymizeUsers = true }, null));
        Assert.Throws<InvalidOperationException>(() => new UserPseudonyms(new PrivacyOptions { Teams = { ["payments"] = true } }, null));
    }

    [Fact]
    public async Task A_pseudonymous_team_s_records_hold_the_hash_and_budgets_still_see_the_plain_user()
    {
        var deployment = new DeploymentOptions { Name = "mock", Provider = "mock", Model = "mock-1" };
        var options = new GatewayOptions
        {
            Catalog = new CatalogOptions { Deployments = [deployment], Models = [new ModelOptions { Name = "m", Deployments = ["mock"] }] },
            Privacy = new PrivacyOptions { Teams = { ["payments"] = true } },
        };
        var usage = new InMemoryUsageSink();
        var runtime = new GatewayRuntime(options, TestSecrets.Upstream, new InMemoryKeyStore(), _ => new HttpClient(), TimeProvider.System, usage: usage, subjects: Hasher, features: TestFeatures.Current);
        var (_, payments) = await runtime.Keys.CreateAsync(new CreateKeyRequest("p", null, "payments", [], new Dictionary<string, string>()), default);
        var (_, search) = await runtime.Keys.CreateAsync(new CreateKeyRequest("s", "svc-search", "search", [], new Dictionary<string, string>()), default);

        var hashed = await GatewayRequests.SendAsync(runtime, new BearerHeaders(payments), """{"model":"m","user":"alice","messages":[{"role":"user","content":"hi"}]}""");
        var plain = await GatewayRequests.SendAsync(runtime, new BearerHeaders(search), """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(hashed.Outcome.Error);
        Assert.Null(plain.Outcome.Error);
        Assert.Equal("alice", hashed.Context.EndUser); // budgets and limits are keyed by the plain id
        Assert.Equal(Hasher.Hash("alice"), usage.Records.Single(r => r.Team == "payments").User);
        Assert.Equal("svc-search", usage.Records.Single(r => r.Team == "search").User);
        Assert.DoesNotContain(usage.Records, r => UsageRecordCodec.Encode(r).Contains("alice", StringComparison.Ordinal));
    }
}
