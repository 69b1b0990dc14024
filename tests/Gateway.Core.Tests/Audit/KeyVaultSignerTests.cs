using Gateway.Core.Audit;
using Gateway.Core.Providers;
using Gateway.Testing;

namespace Gateway.Core.Tests.Audit;

/// <summary>Checkpoints signed through Key Vault's REST API (a local server speaking it), verified with the public key alone.</summary>
public sealed class KeyVaultSignerTests : IAsyncLifetime
{
    private FakeKeyVault _vault = null!;

    public async Task InitializeAsync() => _vault = await FakeKeyVault.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private sealed class Tokens : IAccessTokenSource
    {
        public List<string> Scopes { get; } = [];

        public ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken)
        {
            Scopes.Add(scope);
            return ValueTask.FromResult("managed-identity-token");
        }
    }

    private static string Entry(long sequence) => AuditEntryCodec.Serialize(new AuditEntry(sequence, new AuditEvent
    {
        Id = "e" + sequence, At = DateTimeOffset.UnixEpoch.AddDays(20_000), Type = AuditEventTypes.KeyCreated, Actor = "admin",
    }));

    [Fact]
    public async Task A_checkpoint_signed_in_the_vault_verifies_with_its_public_key_and_pins_the_key_version()
    {
        var tokens = new Tokens();
        using var http = new HttpClient();
        var signer = await KeyVaultCheckpointSigner.OpenAsync(http, tokens, _vault.KeyId, default);

        var checkpoint = await CheckpointSealer.SealAsync(null, [Entry(0), Entry(1), Entry(2)], DateTimeOffset.UnixEpoch.AddDays(20_000), signer);

        Assert.Equal(_vault.KeyId + "/" + FakeKeyVault.Version, signer.KeyId);
        Assert.Equal(signer.KeyId, checkpoint.KeyId);
        using var verifier = CheckpointVerifier.FromPublicKey(signer.PublicKey);
        Assert.True(verifier.Verify(checkpoint));
        Assert.True(new AuditVerifier(verifier).Verify([checkpoint.Serialize()], [Entry(0), Entry(1), Entry(2)]).Ok);
        Assert.All(tokens.Scopes, s => Assert.Equal(KeyVaultCheckpointSigner.Scope, s));
        Assert.Contains(_vault.Requests, r => r is ("POST", "/keys/audit/" + FakeKeyVault.Version + "/sign", "managed-identity-token"));
    }

    [Fact]
    public async Task A_vault_that_refuses_or_a_key_that_is_not_p256_stops_with_a_message_naming_it()
    {
        using var http = new HttpClient();
        _vault.Rsa = true;
        var notEc = await Assert.ThrowsAsync<InvalidOperationException>(() => KeyVaultCheckpointSigner.OpenAsync(http, new Tokens(), _vault.KeyId, default));
        Assert.Contains("P-256", notEc.Message, StringComparison.Ordinal);

        _vault.Rsa = false;
        var signer = await KeyVaultCheckpointSigner.OpenAsync(http, new Tokens(), _vault.KeyId, default);
        _vault.Status = 403;
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(async () => await signer.SignAsync([1, 2, 3]));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
    }
}
