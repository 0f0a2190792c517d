using System.Globalization;
using OpenQA.Selenium;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>
/// The console in a real browser (headless chromium): what a person does, end to end, on a real server with the sandbox.
/// The console adds no SQL of its own beyond reads through EF, which the rest of the suite runs on both databases, and
/// its pages do not depend on the database: these tests run in the SQLite pass only.
/// </summary>
[TakesAbout(30)]
public sealed class ConsoleBrowserTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    private RunningServer Server => browser.Server;

    [SqlitePassFact]
    public async Task AnOperatorCreatesAndTopsUpAKeyThenItsCustomerGeneratesAVideoThatPlaysAndIsChargedExactly()
    {
        browser.SignIn(RunningServer.AdminToken);
        browser.Until(() => browser.Driver.Url.EndsWith("/console/admin", StringComparison.Ordinal), "the overview");
        browser.Shot("operator-overview");
        browser.Go("/console/admin/keys");
        var create = browser.Find("details.card");
        if (create.GetAttribute("open") is null) browser.Find("details.card > summary").Click();
        browser.Find("#new-name").SendKeys("browser customer");
        browser.Find("#create-key button[type=submit]").Click();
        browser.Until(() => browser.Driver.FindElements(By.Id("created-key")).Count == 1, "the new key");
        var key = browser.Text("#created-key");
        Assert.Matches("^sk-sd2-[0-9a-f]{48}$", key);

        browser.Find(".created a").Click();
        browser.Until(() => browser.Driver.FindElements(By.Id("adjust-credits")).Count == 1, "the key's page");
        browser.Find("#amount").SendKeys("50");
        browser.Find("#note").SendKeys("first top-up");
        browser.Find("#adjust-credits button[type=submit]").Click();
        browser.Until(() => browser.Driver.FindElements(By.CssSelector(".notice")).Count == 1, "the top-up's notice");
        Assert.Equal("50", browser.Text("#key-remaining"));
        Assert.Contains("first top-up", browser.Text("table.ledger"));
        browser.Shot("operator-key");
        browser.Find("form[action='/console/signout'] button").Click();
        browser.Until(() => browser.Driver.Url.Contains("/console/signin", StringComparison.Ordinal), "the sign-in page after signing out");

        browser.SignIn(key);
        browser.Until(() => browser.Driver.Url.EndsWith("/console/tasks", StringComparison.Ordinal), "the customer's tasks");
        Assert.DoesNotContain(key, browser.Driver.PageSource);
        browser.Go("/console/playground");
        var png = Path.Combine(Path.GetTempPath(), $"seedance-console-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(png, await Media.PngAsync("blue"));
        try
        {
            browser.Find("#files").SendKeys(png);
            browser.Until(() => browser.Driver.FindElements(By.CssSelector("#uploads li.done")).Count == 1, "the upload");
        }
        finally { File.Delete(png); }
        browser.Find("#uploads li.done select option[value='first_frame']").Click();
        const string prompt = "A fox <script>window.__injected = 1</script> in snow";
        browser.Find("#prompt").SendKeys(prompt);
        browser.Find("#resolution option[value='480p']").Click();
        var duration = browser.Find("#duration");
        duration.Clear();
        duration.SendKeys("4");
        browser.Until(() => browser.Text("#quote").Contains("3.6", StringComparison.Ordinal) && browser.Text("#quote").Contains("46.4", StringComparison.Ordinal),
            "the quote of 3.6 credits leaving 46.4");
        browser.Find("#submit").Click();
        browser.Until(() => browser.Text("#result-status") == "completed", "the task to complete", seconds: 30);

        var started = browser.Driver.ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            const video = document.getElementById("result-video");
            video.muted = true;
            video.play().then(() => done("playing"), (e) => done("play refused: " + e));
            """);
        Assert.Equal("playing", started);
        browser.Until(() => Convert.ToDouble(browser.Driver.ExecuteScript("return document.getElementById('result-video').currentTime;"),
            CultureInfo.InvariantCulture) > 0.5, "the video's time to advance");
        browser.Driver.ExecuteScript("document.getElementById('result').scrollIntoView();");
        browser.Shot("playground");

        browser.Go("/console/balance");
        Assert.Equal("50", browser.Text("#balance-total"));
        Assert.Equal("3.6", browser.Text("#balance-used"));
        Assert.Equal("0", browser.Text("#balance-reserved"));
        Assert.Equal("46.4", browser.Text("#balance-remaining"));
        browser.Shot("balance");

        browser.Go("/console/tasks");
        browser.Until(() => (bool)browser.Driver.ExecuteScript("const img = document.querySelector('li.task .thumb img'); return !!img && img.complete && img.naturalWidth > 0;")!,
            "the task's poster in the list");
        browser.Shot("tasks");
        browser.Find("li.task .facts a").Click();
        browser.Until(() => browser.Driver.FindElements(By.CssSelector(".prompt")).Count == 1, "the task's page");
        Assert.Equal(prompt, browser.Text(".prompt"));
        Assert.Contains("first_frame", browser.Text("ul.content"), StringComparison.Ordinal);
        Assert.Equal(0L, browser.Driver.ExecuteScript("return document.querySelectorAll('.prompt script, .prompt *').length;")); // the prompt is text: no element made of it
        browser.Shot("task");
        foreach (var page in new[] { "webhooks", "requests", "quickstart" })
        {
            browser.Go("/console/" + page);
            browser.Shot(page);
        }
        browser.SignIn(RunningServer.AdminToken);
        foreach (var page in new[] { "keys", "tasks", "channels" })
        {
            browser.Go("/console/admin/" + page);
            browser.Shot("operator-" + page);
        }
    }

    [SqlitePassFact]
    public async Task ATaskIsCancelledFromTheTaskListAndItsCreditsReleased()
    {
        // The key's one slot is taken by a task that never finishes: the next waits, pending, which cancels at once.
        using var client = await Server.CreateKeyAsync(credits: 20, maxConcurrent: 1);
        var running = await client.SubmitTextAsync(ServerFixture.Stalled);
        var taskId = await client.SubmitTextAsync(ServerFixture.Stalled);

        browser.SignIn(client.ApiKey);
        browser.Until(() => browser.Driver.Url.EndsWith("/console/tasks", StringComparison.Ordinal), "the customer's tasks");
        browser.Find($"li[data-task-id='{taskId}'] form button").Click();
        browser.Until(() => browser.Driver.FindElements(By.CssSelector(".notice")).Count == 1, "the cancel's notice");
        Assert.Equal("cancelled", browser.Find($"li[data-task-id='{taskId}']").GetAttribute("data-status"));
        var balance = await client.BalanceAsync();
        var cost = (await client.GetTaskAsync(running)).Result!["credit_cost"]!.GetValue<decimal>();
        Assert.Equal(cost, balance.Result!["reserved_credits"]!.GetValue<decimal>()); // the running task's alone
        Assert.Equal(20m - cost, balance.Result!["remain_credits"]!.GetValue<decimal>());
    }

    [SqlitePassFact]
    public void AWrongKeyIsRefusedWithAMessage()
    {
        browser.SignIn("sk-sd2-" + new string('0', 48));
        browser.Until(() => browser.Driver.FindElements(By.Id("signin-error")).Count == 1, "the refusal");
        Assert.Contains("/console/signin", browser.Driver.Url, StringComparison.Ordinal);
        Assert.Contains("not valid", browser.Text("#signin-error"), StringComparison.Ordinal);
        browser.Shot("signin-refused");
    }

    [SqlitePassFact]
    public async Task AnotherKeysTaskIdInAConsoleUrlIsNotFound()
    {
        using var mine = await Server.CreateKeyAsync();
        using var theirs = await Server.CreateKeyAsync();
        var theirTask = await theirs.SubmitTextAsync(ServerFixture.Stalled);

        browser.SignIn(mine.ApiKey);
        browser.Until(() => browser.Driver.Url.EndsWith("/console/tasks", StringComparison.Ordinal), "the customer's tasks");
        browser.Go($"/console/tasks/{theirTask}");
        Assert.Equal("TASK_NOT_FOUND", browser.Text("code.code"));
        Assert.DoesNotContain(ServerFixture.Stalled, browser.Driver.PageSource);
        Assert.Contains((await theirs.GetTaskAsync(theirTask)).Result!["status"]!.GetValue<string>(), new[] { "pending", "queued", "processing" });
        await theirs.CancelAsync(theirTask);
    }
}
