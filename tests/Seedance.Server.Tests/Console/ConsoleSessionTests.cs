using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>The shared server of the console's HTTP tests: each test signs in a few times from loopback, more than the default limit a minute.</summary>
public sealed class ConsoleFixture : ServerFixture
{
    protected override Dictionary<string, string> Settings => new(base.Settings) { ["Seedance:Auth:ConsoleSignInsPerMinute"] = "1000" };
}

/// <summary>The console's session and forms over plain HTTP, as a browser would send them and as an attacker might.</summary>
public sealed class ConsoleSessionTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task ASignedInCustomersCookieIsHttpOnlyAndSameSiteStrictAndNoPageHoldsTheKey()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        var signIn = await session.SignInAsync(client.ApiKey);
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("sd2_console=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/console", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(client.ApiKey, cookie, StringComparison.Ordinal);
        foreach (var page in new[] { "/console/tasks", "/console/playground", "/console/balance", "/console/webhooks", "/console/requests", "/console/quickstart" })
        {
            var answer = await session.Client.GetAsync(page);
            var html = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{page}: {(int)answer.StatusCode}\n{html}");
            Assert.DoesNotContain(client.ApiKey, html, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", answer.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", html, StringComparison.Ordinal); // scripts come from files alone
        }
    }

    [Fact]
    public async Task AFormPostWithoutTheAntiforgeryTokenIsRefusedAndChangesNothing()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var before = (await client.Http.GetFromJsonAsync<JsonObject>("/api/v1/video/webhook/secret"))!["result"]!["secret"]!.GetValue<string>();

        var rotate = await session.PostFormAsync("/console/webhooks/rotate", []);
        Assert.Equal(HttpStatusCode.BadRequest, rotate.StatusCode);
        Assert.Contains("FORM_EXPIRED", await rotate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var submit = await session.Client.PostAsJsonAsync("/console/api/v1/video/task", new { content = new[] { new { type = "text", text = "a cat" } } });
        Assert.Equal(HttpStatusCode.BadRequest, submit.StatusCode);
        var signIn = await session.PostFormAsync("/console/signin", new() { ["secret"] = client.ApiKey });
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);

        var after = (await client.Http.GetFromJsonAsync<JsonObject>("/api/v1/video/webhook/secret"))!["result"]!["secret"]!.GetValue<string>();
        Assert.Equal(before, after);
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnotherKeysTaskCannotBeCancelledThroughTheConsole()
    {
        using var mine = await Server.CreateKeyAsync();
        using var theirs = await Server.CreateKeyAsync();
        var theirTask = await theirs.SubmitTextAsync(ServerFixture.Stalled);
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(mine.ApiKey);

        var cancel = await session.PostFormAsync($"/console/tasks/{theirTask}/cancel", new() { ["__csrf"] = await session.TokenAsync("/console/tasks") });
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Contains("TASK_NOT_FOUND", await cancel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var token = await session.TokenAsync("/console/tasks");
        using var apiCancel = new HttpRequestMessage(HttpMethod.Post, $"/console/api/v1/video/task/{theirTask}/cancel") { Headers = { { "X-CSRF-Token", token } } };
        Assert.Equal(HttpStatusCode.NotFound, (await session.Client.SendAsync(apiCancel)).StatusCode);
        Assert.Contains((await theirs.GetTaskAsync(theirTask)).Result!["status"]!.GetValue<string>(), new[] { "pending", "queued", "processing" });
        await theirs.CancelAsync(theirTask);
    }

    [Fact]
    public async Task ACustomerSessionDoesNotReachTheOperatorsPages()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        foreach (var page in new[] { "/console/admin", "/console/admin/keys", "/console/admin/tasks", "/console/admin/channels", "/console/no-such-page" })
        {
            var answer = await session.Client.GetAsync(page);
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            Assert.Contains("<code class=\"code\">NOT_FOUND</code>", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ADisabledKeysSessionEndsWithinASecondAndASignOutEndsItAtOnce()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/console/tasks")).StatusCode);

        using var operatorSession = new ConsoleClient(Server.BaseUrl);
        await operatorSession.SignInAsync(RunningServer.AdminToken);
        var disable = await operatorSession.PostFormAsync($"/console/admin/keys/{client.KeyId}/state",
            new() { ["enabled"] = "false", ["__csrf"] = await operatorSession.TokenAsync($"/console/admin/keys/{client.KeyId}") });
        Assert.Equal(HttpStatusCode.SeeOther, disable.StatusCode);
        var disabledAt = DateTime.UtcNow;
        HttpResponseMessage answer;
        while ((answer = await session.Client.GetAsync("/console/tasks")).StatusCode == HttpStatusCode.OK) await Task.Delay(50);
        Assert.True(DateTime.UtcNow - disabledAt < TimeSpan.FromSeconds(1.5), $"The session lasted {DateTime.UtcNow - disabledAt} after the key was disabled");
        Assert.Equal(HttpStatusCode.Found, answer.StatusCode);
        Assert.Contains("/console/signin", answer.Headers.Location!.ToString(), StringComparison.Ordinal);

        (await Server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { enabled = true })).EnsureSuccessStatusCode();
        using var again = new ConsoleClient(Server.BaseUrl);
        Assert.Equal(HttpStatusCode.SeeOther, (await again.SignInAsync(client.ApiKey)).StatusCode);
        var signOut = await again.PostFormAsync("/console/signout", new() { ["__csrf"] = await again.TokenAsync("/console/tasks") });
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await again.Client.GetAsync("/console/tasks")).StatusCode);
    }

    [Fact]
    public async Task TheOperatorSetsAKeysLimitsAndCreditsAndExportsItsLedger()
    {
        using var client = await Server.CreateKeyAsync(credits: 10);
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(RunningServer.AdminToken);
        var page = $"/console/admin/keys/{client.KeyId}";
        var limits = await session.PostFormAsync(page + "/limits", new()
        {
            ["max_concurrent"] = "3", ["max_pending"] = "7", ["rate_limit_per_second"] = "9", ["daily_credit_limit"] = "12.5", ["monthly_credit_limit"] = "",
            ["__csrf"] = await session.TokenAsync(page),
        });
        Assert.Equal(HttpStatusCode.SeeOther, limits.StatusCode);
        var credits = await session.PostFormAsync(page + "/credits", new() { ["amount"] = "-2.5", ["note"] = "=refund, \"partial\"", ["__csrf"] = await session.TokenAsync(page) });
        Assert.Equal(HttpStatusCode.SeeOther, credits.StatusCode);
        var refused = await session.PostFormAsync(page + "/credits", new() { ["amount"] = "-100", ["__csrf"] = await session.TokenAsync(page) });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("INVALID_PARAMETER", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var key = (await Server.Admin.GetFromJsonAsync<JsonObject>($"/admin/v1/keys/{client.KeyId}"))!["result"]!;
        Assert.Equal(3, key["max_concurrent"]!.GetValue<int>());
        Assert.Equal(7, key["max_pending"]!.GetValue<int>());
        Assert.Equal(9, key["rate_limit_per_second"]!.GetValue<int>());
        Assert.Equal(12.5m, key["daily_credit_limit"]!.GetValue<decimal>());
        Assert.Equal(7.5m, key["remain_credits"]!.GetValue<decimal>());
        var csv = await session.Client.GetStringAsync(page + "/ledger.csv");
        Assert.StartsWith("id,created_at,kind,amount,task_id,note\n", csv, StringComparison.Ordinal);
        Assert.Contains(",adjust,-2.5,,\"'=refund, \"\"partial\"\"\"\n", csv, StringComparison.Ordinal); // quoted, and no formula for a spreadsheet
    }

    [Fact]
    public async Task TheBalanceChartCountsTodaysTasksAndCreditsAfterTheEarlierDaysAreKept()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await client.WaitForAsync(await client.SubmitTextAsync("one"), "completed");
        Assert.Contains($"<tr><td>{today}</td><td class=\"num\">1</td><td class=\"num\">3.6</td></tr>", await session.Client.GetStringAsync("/console/balance"));

        await client.WaitForAsync(await client.SubmitTextAsync("two"), "completed"); // after the first view kept the days before today
        Assert.Contains($"<tr><td>{today}</td><td class=\"num\">2</td><td class=\"num\">7.2</td></tr>", await session.Client.GetStringAsync("/console/balance"));
    }

    [Fact]
    public async Task PagesAreInChineseWhenTheBrowserPrefersItOrTheSwitchChoosesIt()
    {
        using var session = new ConsoleClient(Server.BaseUrl);
        using var preferred = new HttpRequestMessage(HttpMethod.Get, "/console/signin") { Headers = { { "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5" } } };
        var html = await (await session.Client.SendAsync(preferred)).Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"zh-CN\">", html, StringComparison.Ordinal);
        Assert.Contains("登录", System.Net.WebUtility.HtmlDecode(html), StringComparison.Ordinal);

        var switched = await session.Client.GetAsync("/console/lang/en?back=%2Fconsole%2Fsignin");
        Assert.Equal(HttpStatusCode.SeeOther, switched.StatusCode);
        Assert.Equal("/console/signin", switched.Headers.Location!.ToString());
        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/signin") { Headers = { { "Accept-Language", "zh-CN" } } };
        Assert.Contains("<html lang=\"en\">", await (await session.Client.SendAsync(again)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("/console", (await session.Client.GetAsync("/console/lang/zh?back=https%3A%2F%2Fevil.example%2F")).Headers.Location!.ToString());
    }

    [Fact]
    public async Task TheApisAnswersCarryNoneOfTheConsolesMachinery()
    {
        using var client = await Server.CreateKeyAsync();
        var answer = await client.Http.GetAsync("/api/v1/video/balance");
        Assert.False(answer.Headers.Contains("Content-Security-Policy"));
        Assert.False(answer.Headers.Contains("Set-Cookie"));
        Assert.DoesNotContain((await Server.Http.GetStringAsync("/openapi/v1.json")), "/console", StringComparison.Ordinal);
    }
}
