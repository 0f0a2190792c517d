using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>
/// HMAC-signed, expiring links to this server's own file store. The signature covers the method, the
/// path, the content type (for uploads) and the expiry, so none can be changed without breaking it.
/// </summary>
public sealed class UrlSigner
{
    public const string FileName = "signing-key";
    private readonly byte[] _key;

    /// <summary>The configured key (<c>Seedance:SigningKey</c>, shared by all nodes), else one generated into the data directory.</summary>
    public UrlSigner(IOptions<SeedanceOptions> options)
    {
        _key = options.Value.SigningKey is { Length: > 0 } configured
            ? Convert.FromBase64String(configured)
            : SecretFile.ReadOrCreate(Path.Combine(options.Value.DataPath, FileName), SecretFile.RandomBytes, out _);
    }

    /// <summary>The query string (without '?') that authorises <paramref name="method"/> on <paramref name="path"/> until <paramref name="expires"/>.</summary>
    public string Sign(string method, string path, DateTimeOffset expires, string contentType = "")
    {
        var unix = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"expires={unix}&signature={Signature(method, path, unix, contentType)}";
    }

    public SignatureCheck Verify(string method, string path, string? expires, string? signature, DateTimeOffset now, string contentType = "")
    {
        if (string.IsNullOrEmpty(expires) || string.IsNullOrEmpty(signature) || !long.TryParse(expires, out var unix))
            return SignatureCheck.Invalid;
        var expected = Encoding.ASCII.GetBytes(Signature(method, path, expires, contentType));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature))) return SignatureCheck.Invalid;
        return unix < now.ToUnixTimeSeconds() ? SignatureCheck.Expired : SignatureCheck.Valid;
    }

    /// <summary>
    /// A key for another use (<paramref name="purpose"/> names it), derived from the signing key with HKDF: nodes that share
    /// the signing key, as they must for links, share it too, and no other use can learn the signing key from it.
    /// </summary>
    public byte[] DeriveKey(string purpose, int length = 32) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, length, info: Encoding.UTF8.GetBytes("seedance:" + purpose));

    private string Signature(string method, string path, string expires, string contentType) =>
        Base64Url(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{method}\n{path}\n{contentType.ToLowerInvariant()}\n{expires}")));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public enum SignatureCheck { Valid, Invalid, Expired }
