using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace Seedance.Server.WebConsole;

/// <summary>
/// The Data Protection the console's session cookie and antiforgery tokens are sealed with: AES-256-GCM under a key derived
/// (HKDF) from the server's signing key and the purpose chain, instead of ASP.NET Core's key ring in a directory of each
/// machine. Every node that shares <c>Seedance:SigningKey</c> (as it must, for the links it signs) opens what any other node
/// sealed, so a load balancer needs no sticky sessions and there is no key ring to share or store. Changing the signing key
/// ends every session, as it ends every signed link.
/// </summary>
public sealed class DerivedDataProtectionProvider(byte[] rootKey) : IDataProtectionProvider
{
    public IDataProtector CreateProtector(string purpose) => new Protector(rootKey, [purpose]);

    private sealed class Protector : IDataProtector
    {
        private const int NonceBytes = 12, TagBytes = 16;
        private readonly byte[] _root;
        private readonly string[] _purposes;
        private readonly byte[] _key;

        public Protector(byte[] root, string[] purposes)
        {
            (_root, _purposes) = (root, purposes);
            _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, root, 32, info: Encoding.UTF8.GetBytes(string.Join('\n', purposes)));
        }

        public IDataProtector CreateProtector(string purpose) => new Protector(_root, [.. _purposes, purpose]);

        public byte[] Protect(byte[] plaintext)
        {
            var sealedBytes = new byte[NonceBytes + plaintext.Length + TagBytes];
            var nonce = sealedBytes.AsSpan(0, NonceBytes);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(_key, TagBytes);
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceBytes, plaintext.Length), sealedBytes.AsSpan(NonceBytes + plaintext.Length));
            return sealedBytes;
        }

        public byte[] Unprotect(byte[] protectedData)
        {
            if (protectedData.Length < NonceBytes + TagBytes) throw new CryptographicException("Not sealed by this server");
            var plaintext = new byte[protectedData.Length - NonceBytes - TagBytes];
            using var aes = new AesGcm(_key, TagBytes);
            aes.Decrypt(protectedData.AsSpan(0, NonceBytes), protectedData.AsSpan(NonceBytes, plaintext.Length),
                protectedData.AsSpan(NonceBytes + plaintext.Length), plaintext);
            return plaintext;
        }
    }
}
