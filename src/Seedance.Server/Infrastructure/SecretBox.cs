using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Seedance.Server.Infrastructure;

/// <summary>
/// Seals the secrets kept in the database (upstream API keys) with AES-256-GCM. The key is <c>Seedance:SecretsKey</c>
/// (base64 of 32 bytes), shared by every node of a database; unset on a single node, one is generated into the data
/// directory (<c>secrets-key</c>, mode 0600). A sealed value names the key that sealed it, so after a rotation the
/// keys of <c>Seedance:PreviousSecretsKeys</c> still open what they sealed until everything is sealed again
/// (<c>channels reencrypt</c>).
/// </summary>
public sealed class SecretBox
{
    public const string FileName = "secrets-key";
    private const string Version = "v1";
    private const int KeyBytes = 32, NonceBytes = 12, TagBytes = 16;
    private readonly (string Id, byte[] Key) _current;
    private readonly Dictionary<string, byte[]> _all;

    public SecretBox(IOptions<SeedanceOptions> options)
    {
        var o = options.Value;
        var current = o.SecretsKey is { Length: > 0 } configured
            ? Convert.FromBase64String(configured)
            : SecretFile.ReadOrCreate(Path.Combine(o.DataPath, FileName), () => RandomNumberGenerator.GetBytes(KeyBytes), out _)[..KeyBytes];
        IsConfigured = o.SecretsKey is { Length: > 0 };
        _current = (IdOf(current), current);
        _all = new Dictionary<string, byte[]> { [_current.Id] = current };
        foreach (var previous in o.PreviousSecretsKeys.Where(k => k.Length > 0).Select(Convert.FromBase64String)) _all.TryAdd(IdOf(previous), previous);
    }

    /// <summary>Whether the key comes from configuration (so every node holding the same configuration opens what this one seals).</summary>
    public bool IsConfigured { get; }

    /// <summary><c>v1:&lt;key id&gt;:&lt;base64 of nonce, ciphertext and tag&gt;</c>; <paramref name="context"/> (the owner's name) must match to open it.</summary>
    public string Seal(string plaintext, string context)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[NonceBytes + data.Length + TagBytes];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_current.Key, TagBytes);
        aes.Encrypt(nonce, data, sealedBytes.AsSpan(NonceBytes, data.Length), sealedBytes.AsSpan(NonceBytes + data.Length), Encoding.UTF8.GetBytes(context));
        return $"{Version}:{_current.Id}:{Convert.ToBase64String(sealedBytes)}";
    }

    /// <summary>Opens a sealed value; throws <see cref="CryptographicException"/> naming the key it needs when that key is not held.</summary>
    public string Open(string sealedValue, string context)
    {
        var parts = sealedValue.Split(':');
        if (parts.Length != 3 || parts[0] != Version) throw new CryptographicException("Not a sealed secret of this server");
        if (!_all.TryGetValue(parts[1], out var key))
            throw new CryptographicException($"Sealed with secrets key {parts[1]}, which is neither Seedance:SecretsKey nor one of Seedance:PreviousSecretsKeys");
        var bytes = new byte[parts[2].Length];
        if (!Convert.TryFromBase64String(parts[2], bytes, out var length) || length < NonceBytes + TagBytes)
            throw new CryptographicException("A sealed secret of this server, cut short");
        bytes = bytes[..length];
        var data = new byte[bytes.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(bytes.AsSpan(0, NonceBytes), bytes.AsSpan(NonceBytes, data.Length), bytes.AsSpan(NonceBytes + data.Length), data, Encoding.UTF8.GetBytes(context));
        return Encoding.UTF8.GetString(data);
    }

    /// <summary>Whether <paramref name="sealedValue"/> was sealed with the current key (else <c>channels reencrypt</c> has work to do).</summary>
    public bool IsCurrent(string sealedValue) => sealedValue.StartsWith($"{Version}:{_current.Id}:", StringComparison.Ordinal);

    /// <summary>A short public name of a key (not a secret): the first 8 hex digits of its SHA-256.</summary>
    public static string IdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..8];

    public static bool IsValidKey(string? base64) =>
        base64 is { Length: > 0 } && Convert.TryFromBase64String(base64, new byte[base64.Length], out var length) && length == KeyBytes;
}
