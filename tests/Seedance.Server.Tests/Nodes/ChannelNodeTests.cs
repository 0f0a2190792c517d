using System.Diagnostics;
using Seedance.Server.Channels;
using Seedance.Server.Tests.Ark;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Nodes;

/// <summary>A channel changed on one node runs on every node within seconds; the configuration's channels stay read-only.</summary>
public sealed class ChannelNodeTests
{
    [PostgresPassFact]
    public async Task AChannelAddedDrainedAndRemovedOnOneNodeRunsSoOnTheOtherWithinTwoSeconds()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var extra = await ArkEmulator.StartAsync("ark-key-extra-0123456789");
        await using var cluster = await ServerCluster.StartAsync(2, ark, leaseSeconds: 30,
            new Dictionary<string, string> { ["Seedance__SecretsKey"] = RuntimeChannelTests.SecretsKey }, inProcess: true);
        var (first, second) = ((RunningServer)cluster[0], (RunningServer)cluster[1]);
        var pool = second.Services.GetRequiredService<ChannelPool>();

        var created = await first.AdminRequestAsync(HttpMethod.Post, "/admin/v1/channels", new
        {
            name = "extra", provider = "ark", base_url = extra.BaseUrl, api_key = extra.ApiKey, inline_images = true,
            models = new Dictionary<string, string> { ["seedance-2.0"] = "doubao-seedance-2-0-260128" },
        });
        created.AssertOk();
        await SeenWithinTwoSecondsAsync(() => pool.Find("extra") is { Options.TakesTasks: true }, "the second node running the new channel");

        (await second.AdminRequestAsync(HttpMethod.Post, "/admin/v1/channels/extra/drain")).AssertOk();
        var firstPool = first.Services.GetRequiredService<ChannelPool>();
        await SeenWithinTwoSecondsAsync(() => firstPool.Find("extra") is { Options.Draining: true }, "the first node draining the channel");

        (await first.AdminRequestAsync(HttpMethod.Delete, "/admin/v1/channels/extra")).AssertOk();
        await SeenWithinTwoSecondsAsync(() => pool.Find("extra") is null, "the second node dropping the channel");

        // The configuration's channel is shown, marked, and left alone.
        var configured = await second.AdminRequestAsync(HttpMethod.Get, "/admin/v1/channels/ark");
        Assert.Equal(("configuration", true), (configured.Result!["source"]!.GetValue<string>(), configured.Result["read_only"]!.GetValue<bool>()));
        (await first.AdminRequestAsync(HttpMethod.Patch, "/admin/v1/channels/ark", new { enabled = false }))
            .AssertError(400, "INVALID_PARAMETER", "channel 'ark' comes from the configuration (Seedance:Channels) and is read-only here");
        (await first.AdminRequestAsync(HttpMethod.Post, "/admin/v1/channels", new
        {
            name = "ark", provider = "ark", base_url = extra.BaseUrl, api_key = extra.ApiKey, inline_images = true,
            models = new Dictionary<string, string> { ["seedance-2.0"] = "doubao-seedance-2-0-260128" },
        })).AssertError(400, "INVALID_PARAMETER", "name 'ark' is taken by a channel of the configuration");
    }

    private static async Task SeenWithinTwoSecondsAsync(Func<bool> seen, string what)
    {
        var clock = Stopwatch.StartNew();
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(seen()), what, seconds: 10);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"{what} took {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
