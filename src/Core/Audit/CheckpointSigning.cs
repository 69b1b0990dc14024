using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Audit;

/// <summary>
/// Signs checkpoints: ECDSA P-256 over SHA-256 of the payload, signature in IEEE P1363 format (r || s, 64 bytes),
/// which is what .NET produces by default and what Key Vault's ES256 returns, so a Key Vault signer needs no
/// conversion. Asynchronous because a Key Vault signer is a network call.
/// </summary>
public interface ICheckpointSigner
{
    /// <summary>Names the key, written into each checkpoint: printable ASCII without quotes or backslashes (a Key Vault key id URL qualifies).</summary>
    string KeyId { get; }

    ValueTask<byte[]> SignAsync(byte[] payload, CancellationToken cancellationToken = default);
}

/// <summary>
/// A development signer: an ECDSA P-256 private key in a local PEM file (PKCS#8), created on first use with owner-only
/// permissions. Production keeps the key in Key Vault instead, so nobody who can write the log can also sign it.
/// </summary>
public sealed class EcdsaFileSigner : ICheckpointSigner, IDisposable
{
    private readonly ECDsa _key;

    private EcdsaFileSigner(ECDsa key)
    {
        _key = key;
        KeyId = CheckpointVerifier.KeyIdOf(key.ExportSubjectPublicKeyInfo());
    }

    /// <summary><c>ecdsa-p256:</c> and the first 16 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo DER).</summary>
    public string KeyId { get; }

    /// <summary>The public key (SubjectPublicKeyInfo PEM) to give verifiers.</summary>
    public string PublicKeyPem => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>Loads the key in <paramref name="path"/>, or creates one there when the file does not exist.</summary>
    /// <exception cref="CryptographicException">The file holds no P-256 private key.</exception>
    public static EcdsaFileSigner LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = ECDsa.Create();
        try
        {
            if (File.Exists(path))
            {
                key.ImportFromPem(File.ReadAllText(path));
                CheckpointVerifier.EnsureP256(key);
            }
            else
            {
                key.GenerateKey(ECCurve.NamedCurves.nistP256);
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var file = new StreamWriter(path, Encoding.ASCII, options);
                file.Write(key.ExportPkcs8PrivateKeyPem());
            }

            return new EcdsaFileSigner(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public ValueTask<byte[]> SignAsync(byte[] payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return ValueTask.FromResult(_key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>Checks checkpoint signatures with the public key only (ECDSA P-256, SHA-256, IEEE P1363; see <see cref="ICheckpointSigner"/>).</summary>
public sealed class CheckpointVerifier : IDisposable
{
    private readonly ECDsa _key;

    private CheckpointVerifier(ECDsa key) => _key = key;

    /// <summary>The public key (SubjectPublicKeyInfo PEM), for the offline verifier.</summary>
    public string PublicKeyPem => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>The key id an <see cref="EcdsaFileSigner"/> with this public key writes (see <see cref="KeyIdOf"/>).</summary>
    public string KeyId => KeyIdOf(_key.ExportSubjectPublicKeyInfo());

    /// <summary>From a public key as SubjectPublicKeyInfo, PEM (<c>-----BEGIN PUBLIC KEY-----</c>) or DER.</summary>
    /// <exception cref="CryptographicException">Not a P-256 public key.</exception>
    public static CheckpointVerifier FromPublicKey(ReadOnlySpan<byte> pemOrDer)
    {
        var key = ECDsa.Create();
        try
        {
            var text = Encoding.ASCII.GetString(pemOrDer);
            if (text.Contains("-----BEGIN", StringComparison.Ordinal)) key.ImportFromPem(text);
            else key.ImportSubjectPublicKeyInfo(pemOrDer, out _);
            EnsureP256(key);
            return new CheckpointVerifier(key);
        }
        catch (Exception e) when (e is ArgumentException)
        {
            key.Dispose();
            throw new CryptographicException("not a public key: " + e.Message, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="FromPublicKey(ReadOnlySpan{byte})"/>
    public static CheckpointVerifier FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        return FromPublicKey(Encoding.ASCII.GetBytes(pem));
    }

    /// <summary>Whether the checkpoint's signature is this key's over its payload. Never throws.</summary>
    public bool Verify(Checkpoint checkpoint) =>
        checkpoint is not null
        && _key.VerifyData(checkpoint.SignedPayload(), checkpoint.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _key.Dispose();

    /// <summary><c>ecdsa-p256:</c> and the first 16 hex digits of the SHA-256 of a SubjectPublicKeyInfo (DER).</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        "ecdsa-p256:" + Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    internal static void EnsureP256(ECDsa key)
    {
        if (key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value) throw new CryptographicException("the key is not ECDSA P-256");
    }
}
