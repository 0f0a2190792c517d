using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>
/// The shared server of the console's HTTP tests: each test signs in a few times from loopback, more than the default limit a
/// minute; loopback is a trusted proxy, so that a test may come from an address of its own (X-Forwarded-For) or over HTTPS
/// (X-Forwarded-Proto).
/// </summary>
public sealed class ConsoleFixture : ServerFixture
{
    protected override Dictionary<string, string> Settings => new(base.Settings)
    {
        ["Seedance:Auth:ConsoleSignInsPerMinute"] = "1000", ["Seedance:TrustedProxies:0"] = "127.0.0.0/8", ["Seedance:TrustedProxies:1"] = "::1",
    };
}

/// <summary>The console's session and forms over plain HTTP, as a browser would send them and as an attacker might.</summary>
[TakesAbout(18)]
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
            var policy = answer.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
            // Scripts come from files alone: every script element has a source and nothing inside it.
            foreach (System.Text.RegularExpressions.Match script in System.Text.RegularExpressions.Regex.Matches(html, "<script\\b([^>]*)>(.*?)</script>",
                System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.Singleline))
            {
                Assert.Contains(" src=\"/console/assets/", script.Groups[1].Value, StringComparison.Ordinal);
                Assert.True(script.Groups[2].Value.Trim().Length == 0, $"{page}: an inline script: {script.Value}");
            }
            Assert.Equal(System.Text.RegularExpressions.Regex.Matches(html, "<script", System.Text.RegularExpressions.RegexOptions.IgnoreCase).Count,
                System.Text.RegularExpressions.Regex.Matches(html, "</script>", System.Text.RegularExpressions.RegexOptions.IgnoreCase).Count);
        }
    }

    [Fact]
    public async Task ASessionCookieIsSecureWhenATrustedProxySaysTheRequestCameOverHttps()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        using var signIn = new HttpRequestMessage(HttpMethod.Post, "/console/signin")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["secret"] = client.ApiKey, ["__csrf"] = await session.TokenAsync("/console/signin") }),
            Headers = { { "X-Forwarded-Proto", "https" }, { "X-Forwarded-For", "198.51.100.20" } },
        };
        var answer = await session.Client.SendAsync(signIn);
        Assert.Equal(HttpStatusCode.SeeOther, answer.StatusCode);
        var cookie = answer.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("sd2_console=", StringComparison.Ordinal));
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WrongKeysAtTheConsolesSignInCountAsTheApisFailedAuthenticationsAndAnAddressRefusedThereIsRefusedHere()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        var token = await session.TokenAsync("/console/signin");
        async Task<HttpResponseMessage> SignInFromAsync(string secret, string address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/console/signin")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["secret"] = secret, ["__csrf"] = token }),
                Headers = { { "X-Forwarded-For", address } },
            };
            return await session.Client.SendAsync(request);
        }
        const string guesser = "203.0.113.77";
        for (var i = 0; i < 60; i++) // Seedance:Auth:FailuresPerMinute, 60 by default
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInFromAsync("sk-sd2-" + new string('0', 48), guesser)).StatusCode);

        var refused = await SignInFromAsync(client.ApiKey, guesser); // the right key, from an address refused: not even checked
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("SIGN_IN_THROTTLED", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);
        using var api = new HttpRequestMessage(HttpMethod.Get, "/api/v1/video/balance") { Headers = { { "X-API-Key", client.ApiKey }, { "X-Forwarded-For", guesser } } };
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.Http.SendAsync(api)).StatusCode); // the API's throttle counted them
        Assert.Equal(HttpStatusCode.SeeOther, (await SignInFromAsync(client.ApiKey, "203.0.113.78")).StatusCode); // another address may sign in
    }

    [Fact]
    public async Task ACreatedKeyIsShownOnceAfterARedirectAndAReloadNeitherShowsItNorCreatesAnother()
    {
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(RunningServer.AdminToken);
        var name = "prg-" + Guid.NewGuid().ToString("N")[..8];
        var created = await session.PostFormAsync("/console/admin/keys", new() { ["name"] = name, ["credits"] = "5", ["__csrf"] = await session.TokenAsync("/console/admin/keys") });
        Assert.Equal(HttpStatusCode.SeeOther, created.StatusCode);
        Assert.Equal("/console/admin/keys", created.Headers.Location!.ToString());
        Assert.DoesNotContain("sk-sd2-", await created.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var shown = await session.Client.GetStringAsync("/console/admin/keys");
        var key = System.Text.RegularExpressions.Regex.Match(shown, "<code id=\"created-key\" class=\"secret\">(sk-sd2-[^<]+)</code>").Groups[1].Value;
        Assert.StartsWith("sk-sd2-", key, StringComparison.Ordinal);
        using var customer = new ConsoleClient(Server.BaseUrl);
        Assert.Equal(HttpStatusCode.SeeOther, (await customer.SignInAsync(key)).StatusCode); // the key shown is the key made

        var reloaded = await session.Client.GetStringAsync("/console/admin/keys");
        Assert.DoesNotContain("created-key", reloaded, StringComparison.Ordinal);
        Assert.DoesNotContain(key, reloaded, StringComparison.Ordinal);
        var keys = (await Server.Admin.GetFromJsonAsync<JsonObject>("/admin/v1/keys"))!["result"]!.AsArray();
        Assert.Single(keys, k => k!["name"]!.GetValue<string>() == name);
    }

    [Fact]
    public async Task AConsolePageAnswersEveryErrorAsAPageWithItsStatusAndTheConsolesApiAsTheEnvelope()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var badPage = await session.Client.GetAsync("/console/tasks?page=abc"); // a binding failure, before the page's code
        Assert.Equal(HttpStatusCode.BadRequest, badPage.StatusCode);
        Assert.StartsWith("text/html", badPage.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Contains("<code class=\"code\">INVALID_PARAMETER</code>", await badPage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var put = await session.Client.PutAsync("/console/tasks/x/cancel", null); // no such method
        Assert.StartsWith("text/html", put.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);

        var apiError = await session.Client.PostAsJsonAsync("/console/api/v1/video/task", new { });
        Assert.StartsWith("application/json", apiError.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheConsolesApiHasOnlyWhatItsScriptsCall()
    {
        using var client = await Server.CreateKeyAsync();
        var task = await client.SubmitTextAsync(ServerFixture.Stalled);
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var token = await session.TokenAsync("/console/playground");
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/tasks"), (HttpMethod.Get, $"/task/{task}?wait=5"), (HttpMethod.Get, $"/task/{task}"), (HttpMethod.Delete, $"/task/{task}"),
            (HttpMethod.Get, "/models"), (HttpMethod.Get, "/balance"), (HttpMethod.Get, "/webhook/secret"),
        })
        {
            using var request = new HttpRequestMessage(method, "/console/api/v1/video" + path) { Headers = { { "X-CSRF-Token", token } } };
            Assert.True((await session.Client.SendAsync(request)).StatusCode == HttpStatusCode.NotFound, $"{method} {path}");
        }
        using var events = new HttpRequestMessage(HttpMethod.Get, $"/console/api/v1/video/task/{task}/events");
        using var stream = await session.Client.SendAsync(events, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode); // what the playground calls is there
        Assert.Contains((await client.GetTaskAsync(task)).Result!["status"]!.GetValue<string>(), new[] { "pending", "queued", "processing" });
        await client.CancelAsync(task);
    }

    /// <summary>On both passes: the overview's times to complete are worked out by each database's own SQL (SecondsBetween).</summary>
    [Fact]
    public async Task TheOverviewShowsTheDaysMedianTimeToCompleteWorkedOutByTheDatabase()
    {
        using var client = await Server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync("A lighthouse at dusk");
        Assert.Equal("completed", (await client.WaitForAsync(taskId))["status"]!.GetValue<string>());
        using var session = new ConsoleClient(Server.BaseUrl);
        session.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");
        await session.SignInAsync(RunningServer.AdminToken);

        var answer = await session.Client.GetAsync("/console/admin");
        var page = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}\n{page}");
        var median = System.Text.RegularExpressions.Regex.Match(page, @"Median time to complete</span><strong>([0-9.]+) s</strong>");
        Assert.True(median.Success, page);
        Assert.InRange(double.Parse(median.Groups[1].Value, CultureInfo.InvariantCulture), 0.0, 24 * 3600.0);
        Assert.Matches(@"95th percentile</span><strong>[0-9.]+ s</strong>", page);
    }

    [Fact]
    public async Task AnOperatorsPageFarPastTheEndIsEmptyNotAnError()
    {
        using var client = await Server.CreateKeyAsync();
        using var session = new ConsoleClient(Server.BaseUrl);
        await session.SignInAsync(RunningServer.AdminToken);
        foreach (var page in new[] { "/console/admin/tasks?page=2147483647", $"/console/admin/keys/{client.KeyId}?page=2147483647",
            "/console/admin/tasks?page=2147483647&from=2026-01-01T00%3A00" })
        {
            var answer = await session.Client.GetAsync(page);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{page}: {(int)answer.StatusCode}\n{await answer.Content.ReadAsStringAsync()}");
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
        // "Within a second": no request that began more than a second after the disable's answer reaches a page. What is
        // measured is when each accepted request began, so a slow answer on a loaded machine does not count against the server.
        var sinceDisabled = System.Diagnostics.Stopwatch.StartNew();
        var lastAccepted = TimeSpan.Zero;
        HttpResponseMessage answer;
        while (true)
        {
            var began = sinceDisabled.Elapsed;
            if ((answer = await session.Client.GetAsync("/console/tasks")).StatusCode != HttpStatusCode.OK) break;
            lastAccepted = began;
            Assert.True(began < TimeSpan.FromSeconds(10), "The session still reached its pages 10 s after its key was disabled");
            await Task.Delay(50);
        }
        Assert.True(lastAccepted < TimeSpan.FromSeconds(1), $"A request begun {lastAccepted} after the key was disabled still reached a page");
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
        var ids = csv.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => long.Parse(l[..l.IndexOf(',')], CultureInfo.InvariantCulture)).ToList();
        var ledger = await Server.AdminLedgerAsync(client.KeyId);
        Assert.Equal(ledger.Select(e => e!["id"]!.GetValue<long>()).Order(), ids); // every entry once, oldest first
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
