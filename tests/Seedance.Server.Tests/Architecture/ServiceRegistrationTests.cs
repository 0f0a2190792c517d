using Microsoft.Extensions.Configuration;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Architecture;

/// <summary>Every registered service can be made, in the server and in the command-line host (as Development checks at start).</summary>
public sealed class ServiceRegistrationTests
{
    [Fact]
    public void EveryServiceOfTheCommandLineHostResolves()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Seedance:DataDir"] = Path.Combine(Path.GetTempPath(), "seedance-unused"), ["Seedance:AdminToken"] = RunningServer.AdminToken,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSeedanceCore(configuration);

        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task EveryServiceOfTheServerResolvesInTheDevelopmentEnvironment()
    {
        var dataDir = TempDir.Create();
        try
        {
            // In Development the host validates every registration when it is built, and refuses to build otherwise.
            await using var app = SeedanceApp.Create(["--environment=Development", $"--Seedance:DataDir={dataDir}", $"--Seedance:AdminToken={RunningServer.AdminToken}"]);
            Assert.Equal("Development", app.Environment.EnvironmentName);
        }
        finally
        {
            TempDir.Delete(dataDir);
        }
    }
}
