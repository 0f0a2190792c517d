using System.Net;
using System.Security.Cryptography;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>
/// Behind a load balancer without sticky sessions: a session and its forms hold on every node that shares the signing key
/// (that they open under no other key is <see cref="ConsoleUnitTests"/>'s to show, without a third server); and each node
/// limits sign-ins per address as configured.
/// </summary>
public sealed class ConsoleNodesTests
{
    [SqlitePassFact]
    public async Task ASessionAndItsFormsMadeOnOneNodeHoldOnAnotherThatSharesTheSigningKeyWhichLimitsSignInsAsConfigured()
    {
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var starts = new[] { "10", "1" }.Select(signIns => RunningServer.StartAsync(new Dictionary<string, string>
        {
            ["Seedance:SigningKey"] = signingKey, ["Seedance:Auth:ConsoleSignInsPerMinute"] = signIns,
        })).ToArray();
        await Task.WhenAll(starts);
        await using var a = starts[0].Result;
        await using var b = starts[1].Result;

        using var browser = new ConsoleClient(a.BaseUrl);
        Assert.Equal(HttpStatusCode.SeeOther, (await browser.SignInAsync(RunningServer.AdminToken)).StatusCode);
        var formOnA = await browser.TokenAsync("/console/admin/keys");

        // The same browser (its cookies were set for A's host and path, 127.0.0.1 and /console: every node here shares them).
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync(b.BaseUrl + "/console/admin/keys")).StatusCode);
        var created = await browser.PostFormAsync(b.BaseUrl + "/console/admin/keys", new() { ["name"] = "made on b", ["credits"] = "5", ["__csrf"] = formOnA });
        Assert.Equal(HttpStatusCode.SeeOther, created.StatusCode);
        Assert.Contains("made on b", await browser.Client.GetStringAsync(b.BaseUrl + "/console/admin/keys"), StringComparison.Ordinal);

        // B takes one sign-in a minute from an address: the next is refused with a page, whatever it carries.
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var tried = await browser.SignInAsync("sk-sd2-" + new string('0', 48), at: b.BaseUrl);
            Assert.Equal(attempt == 1 ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, tried.StatusCode);
            if (attempt == 2) Assert.Contains("SIGN_IN_THROTTLED", await tried.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        browser.Cookies.Add(new Uri(a.BaseUrl), new Cookie("sd2_console", "forged-" + new string('A', 200), "/console"));
        Assert.Equal(HttpStatusCode.Found, (await browser.Client.GetAsync("/console/admin/keys")).StatusCode);
    }
}
