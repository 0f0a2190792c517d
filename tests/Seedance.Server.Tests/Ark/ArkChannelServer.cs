using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Ark;

/// <summary>What the Ark channel test classes share: a server whose channels are Ark emulators.</summary>
public static class ArkChannelServer
{
    public const decimal Cost = 3.6m; // seedance-2.0, 480p, 4 s

    /// <summary>A server on a known port (so it can hand the upstream links to itself) with Ark channels.</summary>
    public static async Task<RunningServer> ServerAsync(params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(new Dictionary<string, string>(), null, channels);

    public static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(extra, null, channels);

    public static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, string? dataDir, params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(extra, dataDir, null, channels);

    /// <param name="services">Replaces services of the server (a clock).</param>
    public static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, string? dataDir, Action<IServiceCollection>? services,
        params (string Name, ArkEmulator Emulator, int Priority)[] channels)
    {
        var port = ServerProcess.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["Seedance:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
        };
        for (var i = 0; i < channels.Length; i++)
        {
            var (name, emulator, priority) = channels[i];
            settings[$"Seedance:Channels:{i}:Name"] = name;
            settings[$"Seedance:Channels:{i}:Provider"] = "ark";
            settings[$"Seedance:Channels:{i}:BaseUrl"] = emulator.BaseUrl;
            settings[$"Seedance:Channels:{i}:ApiKey"] = emulator.ApiKey;
            settings[$"Seedance:Channels:{i}:Models:seedance-2.0"] = "doubao-seedance-2-0-260128";
            settings[$"Seedance:Channels:{i}:Models:seedance-2.0-fast"] = "doubao-seedance-2-0-fast-260128";
            settings[$"Seedance:Channels:{i}:Priority"] = priority.ToString();
            settings[$"Seedance:Channels:{i}:PollIntervalSeconds"] = "0.2";
            settings[$"Seedance:Channels:{i}:TimeoutSeconds"] = "2";
            settings[$"Seedance:Channels:{i}:CooldownSeconds"] = "600";
            settings[$"Seedance:Channels:{i}:AllowPrivateNetworks"] = "true"; // the emulator's result links are on loopback
        }
        foreach (var (k, v) in extra) settings[k] = v;
        return await RunningServer.StartAsync(settings, dataDir, services);
    }
}
