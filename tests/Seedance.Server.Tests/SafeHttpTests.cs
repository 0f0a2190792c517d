using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Seedance.Server.Callbacks;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The callback client against a canary: a real server on 127.0.0.1 and [::1] that counts every connection.
/// A refused destination must leave the canary untouched, and the same URL must reach it once the operator
/// allows private networks (so each refusal is known to be about a URL that really points at the canary).
/// </summary>
public sealed class SafeHttpTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The canary's loopback in every notation; {v4} and {v6} stand for its two ports.</summary>
    public static TheoryData<string> LoopbackNotations => new()
    {
        "http://127.0.0.1:{v4}/hook",
        "http://2130706433:{v4}/hook",
        "http://0x7f000001:{v4}/hook",
        "http://0x7F.0.0.1:{v4}/hook",
        "http://0177.0.0.1:{v4}/hook",
        "http://017700000001:{v4}/hook",
        "http://127.1:{v4}/hook",
        "http://0x7f.1:{v4}/hook",
        "http://127.000.000.001:{v4}/hook",
        "http://[::ffff:127.0.0.1]:{v4}/hook",
        "http://[::ffff:7f00:1]:{v4}/hook",
        "http://[0:0:0:0:0:ffff:127.0.0.1]:{v4}/hook",
        "http://[::1]:{v6}/hook",
        "http://[0:0:0:0:0:0:0:1]:{v6}/hook",
        "http://localhost:{v4}/hook",
    };

    /// <summary>Every other refused range, in several notations, with the reason the refusal gives. Never connected to.</summary>
    public static TheoryData<string, string> OtherRefusedDestinations => new()
    {
        { "http://10.0.0.1/", "private" },
        { "http://167772161/", "private" },
        { "http://0x0a000001/", "private" },
        { "http://012.0.0.1/", "private" },
        { "http://10.1/", "private" },
        { "http://172.16.0.1/", "private" },
        { "http://172.31.255.255/", "private" },
        { "http://0xac.0x10.0.1/", "private" },
        { "http://192.168.1.1/", "private" },
        { "http://3232235777/", "private" },
        { "http://0300.0250.1.1/", "private" },
        { "http://[::ffff:192.168.1.1]/", "private" },
        { "http://[::ffff:a00:1]/", "private" },
        { "http://[fc00::1]/", "private" },
        { "http://[fd12:3456:789a::1]/", "private" },
        { "http://169.254.169.254/latest/meta-data/", "cloud metadata" },
        { "http://2852039166/latest/meta-data/", "cloud metadata" },
        { "http://0xa9fea9fe/latest/meta-data/", "cloud metadata" },
        { "http://0251.0376.0251.0376/latest/meta-data/", "cloud metadata" },
        { "http://169.254.43518/latest/meta-data/", "cloud metadata" },
        { "http://[::ffff:169.254.169.254]/latest/meta-data/", "cloud metadata" },
        { "http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata" },
        { "http://100.100.100.200/latest/meta-data/", "cloud metadata" },
        { "http://metadata.google.internal/computeMetadata/v1/", "cloud metadata" },
        { "http://metadata/computeMetadata/v1/", "cloud metadata" },
        { "http://169.254.1.1/", "link-local" },
        { "http://[fe80::1]/", "link-local" },
        { "http://[fe80::1%25eth0]/", "link-local" },
        { "http://100.64.0.1/", "shared (CGNAT)" },
        { "http://100.127.255.254/", "shared (CGNAT)" },
        { "http://1681915905/", "shared (CGNAT)" },
        { "http://224.0.0.1/", "multicast" },
        { "http://239.255.255.250/", "multicast" },
        { "http://[ff02::1]/", "multicast" },
        { "http://0.0.0.0/", "unspecified" },
        { "http://0/", "unspecified" },
        { "http://0x0/", "unspecified" },
        { "http://[::]/", "unspecified" },
        { "http://255.255.255.255/", "broadcast" },
        { "http://4294967295/", "broadcast" },
        { "http://240.0.0.1/", "reserved" },
        { "http://127.0.0.2/", "loopback" },
        { "http://[::127.0.0.1]/", "loopback" },                               // IPv4-compatible
        { "http://[64:ff9b::7f00:1]/", "loopback" },                           // NAT64
        { "http://[2002:7f00:1::1]/", "loopback" },                            // 6to4 around 127.0.0.1
        { "http://[2002:c0a8:101::1]/", "private" },                           // 6to4 around 192.168.1.1
        { "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "loopback" },      // Teredo, client 127.0.0.1
    };

    [SqlitePassTheory]
    [MemberData(nameof(LoopbackNotations))]
    public async Task LoopbackInAnyNotationNeverReachesTheCanaryUnlessPrivateNetworksAreAllowed(string template)
    {
        await using var canary = await Canary.StartAsync();
        var url = canary.Fill(template);

        using (var client = SafeHttp.CreateClient(allowPrivateNetworks: false, Patience))
        {
            var refused = await Assert.ThrowsAsync<BlockedDestinationException>(() => client.PostAsync(url, new StringContent("{}")));
            Assert.Equal("loopback", refused.Reason);
            Assert.StartsWith("destination not allowed", refused.Message);
        }
        Assert.Equal(0, canary.Connections);

        using (var client = SafeHttp.CreateClient(allowPrivateNetworks: true, Patience))
        {
            using var response = await client.PostAsync(url, new StringContent("{}"));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }
        Assert.Equal(1, canary.Connections);
    }

    [SqlitePassTheory]
    [MemberData(nameof(OtherRefusedDestinations))]
    public async Task EveryOtherPrivateOrSpecialDestinationIsRefusedBeforeConnecting(string url, string reason)
    {
        using var client = SafeHttp.CreateClient(allowPrivateNetworks: false, Patience);

        var refused = await Assert.ThrowsAsync<BlockedDestinationException>(() => client.PostAsync(url, new StringContent("{}")));

        Assert.Equal(reason, refused.Reason);
        var check = SafeHttp.Check(url, allowPrivate: false);
        Assert.False(check.IsAllowed);
        Assert.Contains(reason, check.Error);
    }

    [SqlitePassFact]
    public async Task AHostWhoseDnsAnswerIsPrivateIsRefusedAndReachedOnlyWhenPrivateNetworksAreAllowed()
    {
        await using var canary = await Canary.StartAsync();
        var url = $"http://localhost:{canary.V4Port}/hook";
        Assert.True(SafeHttp.Check(url.Replace("localhost", "hooks.example.com"), allowPrivate: false).IsAllowed); // no DNS in the early check

        using (var client = SafeHttp.CreateClient(allowPrivateNetworks: false))
        {
            var refused = await Assert.ThrowsAsync<BlockedDestinationException>(() => client.PostAsync(url, new StringContent("{}")));
            Assert.Equal("localhost", refused.Host);
            Assert.True(IPAddress.IsLoopback(refused.Address!));
            Assert.Contains("resolves to", refused.Message);
        }
        Assert.Equal(0, canary.Connections);

        using (var client = SafeHttp.CreateClient(allowPrivateNetworks: true))
        {
            using var response = await client.PostAsync(url, new StringContent("{}"));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }
        Assert.Equal(1, canary.Connections);
    }

    [SqlitePassTheory]
    [InlineData("127.0.0.1")]
    [InlineData("93.184.216.34,10.0.0.7")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("2606:4700::1,fd00::1")]
    public async Task APublicLookingNameIsRefusedWhenAnyOfItsDnsAnswersIsPrivate(string answers)
    {
        await using var canary = await Canary.StartAsync();
        var resolver = new FakeDns { ["hooks.example.com"] = answers.Split(',').Select(IPAddress.Parse).ToArray() };
        using var client = SafeHttp.CreateClient(false, Patience, resolver.ResolveAsync);

        var refused = await Assert.ThrowsAsync<BlockedDestinationException>(() =>
            client.PostAsync($"http://hooks.example.com:{canary.V4Port}/hook", new StringContent("{}")));

        Assert.Equal(answers.Split(',').Last(), refused.Address!.ToString());
        Assert.Equal(0, canary.Connections);
    }

    [SqlitePassFact]
    public async Task TheClientConnectsToTheAddressItCheckedWithoutASecondLookup()
    {
        await using var canary = await Canary.StartAsync();
        var resolver = new FakeDns { ["hooks.example.test"] = [IPAddress.Loopback] }; // a name the system cannot resolve
        using var client = SafeHttp.CreateClient(true, Patience, resolver.ResolveAsync);

        using var response = await client.PostAsync($"http://hooks.example.test:{canary.V4Port}/hook", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(1, resolver.Lookups);
        Assert.Equal($"hooks.example.test:{canary.V4Port}", Assert.Single(canary.Requests).Host);
    }

    [SqlitePassTheory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(303)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task ARedirectToAPrivateAddressIsNotFollowedAndIsTheAnswer(int status)
    {
        await using var canary = await Canary.StartAsync();
        await using var redirector = await Canary.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = status;
            ctx.Response.Headers.Location = $"http://127.0.0.1:{canary.V4Port}/stolen";
            return Task.CompletedTask;
        });
        // Private networks allowed only so the redirector can live on loopback: the canary is then reachable too.
        using var client = SafeHttp.CreateClient(allowPrivateNetworks: true, Patience);

        using var response = await client.PostAsync($"http://127.0.0.1:{redirector.V4Port}/hook", new StringContent("{}"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(1, redirector.Connections);
        Assert.Equal(0, canary.Connections);
    }

    [SqlitePassFact]
    public async Task CallbacksIdentifyThemselvesAndCarryNoCookies()
    {
        await using var canary = await Canary.StartAsync(ctx =>
        {
            ctx.Response.Headers.SetCookie = "session=abc; Path=/";
            ctx.Response.StatusCode = 200;
            return Task.CompletedTask;
        });
        using var client = SafeHttp.CreateClient(allowPrivateNetworks: true);

        (await client.PostAsync($"http://127.0.0.1:{canary.V4Port}/hook", new StringContent("{}"))).Dispose();
        (await client.PostAsync($"http://127.0.0.1:{canary.V4Port}/hook", new StringContent("{}"))).Dispose();

        Assert.All(canary.Requests, r => Assert.Equal("Seedance-Webhooks/1.0", r.UserAgent));
        Assert.All(canary.Requests, r => Assert.Null(r.Cookie));
        Assert.Equal(SafeHttp.DefaultTimeout, client.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(15), SafeHttp.DefaultTimeout);
    }

    [SqlitePassFact]
    public async Task AReceiverThatNeverAnswersEndsTheAttemptAtTheTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        using var client = SafeHttp.CreateClient(allowPrivateNetworks: true, TimeSpan.FromMilliseconds(300));

        var ended = await Assert.ThrowsAsync<TaskCanceledException>(() =>
            client.PostAsync($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/hook", new StringContent("{}")));

        Assert.IsType<TimeoutException>(ended.InnerException);
    }

    private sealed class FakeDns : Dictionary<string, IPAddress[]>
    {
        private int _lookups;
        public int Lookups => _lookups;

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lookups);
            return TryGetValue(host, out var answers) ? Task.FromResult(answers) : throw new SocketException((int)SocketError.HostNotFound);
        }
    }

    private sealed record SeenRequest(string Host, string? UserAgent, string? Cookie);

    /// <summary>A server on 127.0.0.1 and [::1] (one port each) that counts connections and records requests.</summary>
    private sealed class Canary : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<SeenRequest> _requests = new();
        private int _connections;

        private Canary(WebApplication app) => _app = app;

        public int V4Port { get; private set; }
        public int V6Port { get; private set; }
        public int Connections => Volatile.Read(ref _connections);
        public IReadOnlyList<SeenRequest> Requests => _requests.ToList();

        public string Fill(string template) => template.Replace("{v4}", V4Port.ToString()).Replace("{v6}", V6Port.ToString());

        public static async Task<Canary> StartAsync(RequestDelegate? answer = null)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            Canary? canary = null;
            builder.WebHost.UseKestrel(o =>
            {
                foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
                    o.Listen(address, 0, l => l.Use(next => connection =>
                    {
                        Interlocked.Increment(ref canary!._connections);
                        return next(connection);
                    }));
            });
            var app = builder.Build();
            canary = new Canary(app);
            app.Run(ctx =>
            {
                canary._requests.Enqueue(new SeenRequest(ctx.Request.Host.Value!, ctx.Request.Headers.UserAgent, ctx.Request.Headers.Cookie));
                if (answer is not null) return answer(ctx);
                ctx.Response.StatusCode = StatusCodes.Status204NoContent;
                return Task.CompletedTask;
            });
            await app.StartAsync();
            foreach (var bound in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses)
            {
                var uri = new Uri(bound);
                if (uri.HostNameType == UriHostNameType.IPv6) canary.V6Port = uri.Port;
                else canary.V4Port = uri.Port;
            }
            return canary;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
