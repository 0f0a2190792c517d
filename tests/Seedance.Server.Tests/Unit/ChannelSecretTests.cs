using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Unit;

/// <summary>The sealing of upstream API keys kept in the database: AES-GCM, bound to the channel, opened by the current or a previous key.</summary>
public sealed class ChannelSecretTests
{
    private const string First = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", Second = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    [Fact]
    public void ASealedKeyOpensOnlyForItsChannelAndNeverShowsThePlaintext()
    {
        var box = Box(First);
        var sealedKey = box.Seal("ark-key-0123456789", "primary");
        Assert.StartsWith($"v1:{SecretBox.IdOf(Convert.FromBase64String(First))}:", sealedKey);
        Assert.DoesNotContain("ark-key", sealedKey);
        Assert.NotEqual(sealedKey, box.Seal("ark-key-0123456789", "primary")); // a fresh nonce each time
        Assert.Equal("ark-key-0123456789", box.Open(sealedKey, "primary"));
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedKey, "other")); // moved to another channel's row, it does not open
        Assert.True(box.IsCurrent(sealedKey));
    }

    [Fact]
    public void AfterARotationThePreviousKeyStillOpensAndANewKeyAloneSaysWhichKeyItNeeds()
    {
        var sealedKey = Box(First).Seal("ark-key-0123456789", "primary");
        var rotated = Box(Second, First);
        Assert.Equal("ark-key-0123456789", rotated.Open(sealedKey, "primary"));
        Assert.False(rotated.IsCurrent(sealedKey));
        var error = Assert.ThrowsAny<CryptographicException>(() => Box(Second).Open(sealedKey, "primary"));
        Assert.Contains(SecretBox.IdOf(Convert.FromBase64String(First)), error.Message);
    }

    [Fact]
    public void WithoutAConfiguredKeyOneIsGeneratedIntoTheDataDirectoryAndKept()
    {
        var dataDir = TempDir.Create();
        try
        {
            var options = Options.Create(new SeedanceOptions { DataDir = dataDir });
            var sealedKey = new SecretBox(options).Seal("relay-key", "relay");
            Assert.False(new SecretBox(options).IsConfigured);
            Assert.Equal("relay-key", new SecretBox(options).Open(sealedKey, "relay"));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, SecretBox.FileName)));
        }
        finally { TempDir.Delete(dataDir); }
    }

    private static SecretBox Box(string key, params string[] previous) =>
        new(Options.Create(new SeedanceOptions { SecretsKey = key, PreviousSecretsKeys = [.. previous] }));
}
