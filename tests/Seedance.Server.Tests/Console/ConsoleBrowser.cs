using System.Drawing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>
/// Debian's headless chromium, driven through its chromium-driver (no browser or driver is downloaded), on a server of its
/// own; one browser process for all the tests of a class. Screenshots of the pages go to <c>console-screenshots/</c> in the
/// test output, each at desktop width and at 390 px.
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium", DriverDirectory = "/usr/bin", DriverName = "chromedriver";
    private static readonly Size Desktop = new(1280, 900), Phone = new(390, 844);

    public RunningServer Server { get; private set; } = null!;
    public ChromeDriver Driver { get; private set; } = null!;
    public static string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    public async Task InitializeAsync()
    {
        // Posters on, as a server makes them by default: the task list shows them.
        var server = RunningServer.StartAsync(new Dictionary<string, string>
        {
            ["Seedance:Storage:Provider"] = "local", ["Seedance:Tasks:Thumbnails"] = "true",
            ["Seedance:Auth:ConsoleSignInsPerMinute"] = "1000", // the class signs in more often than the default allows a minute from one address
        });
        var browser = Task.Run(Start);
        await Task.WhenAll(server, browser);
        (Server, Driver) = (server.Result, browser.Result);
        Directory.CreateDirectory(Screenshots);
    }

    private static ChromeDriver Start()
    {
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--mute-audio",
            $"--window-size={Desktop.Width},{Desktop.Height}", "--autoplay-policy=no-user-gesture-required", "--lang=en-US");
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        Driver?.Quit();
        Driver?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }

    public void Go(string path) => Driver.Navigate().GoToUrl(Server.BaseUrl + path);

    public IWebElement Find(string css) => Driver.FindElement(By.CssSelector(css));

    public string Text(string css) => Find(css).Text;

    /// <summary>Signs in through the sign-in page, as a person does.</summary>
    public void SignIn(string secret)
    {
        Driver.Manage().Cookies.DeleteAllCookies();
        Go("/console/signin");
        Find("#secret").SendKeys(secret);
        Find("form[action='/console/signin'] button[type=submit]").Click();
    }

    public void Until(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                if (condition()) return;
            }
            catch (WebDriverException) { } // the page was being replaced
            if (DateTime.UtcNow > deadline) Assert.Fail($"Waited {seconds} s for {what}; the page at {Driver.Url} shows:\n{Driver.FindElement(By.TagName("body")).Text}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The page as it is, at desktop width and at 390 px.</summary>
    public void Shot(string name)
    {
        if (Environment.GetEnvironmentVariable("SEEDANCE_CONSOLE_SCREENSHOTS") == "0") return;
        Driver.GetScreenshot().SaveAsFile(Path.Combine(Screenshots, $"{name}-desktop.png"));
        Driver.Manage().Window.Size = Phone;
        Driver.GetScreenshot().SaveAsFile(Path.Combine(Screenshots, $"{name}-390.png"));
        Driver.Manage().Window.Size = Desktop;
    }
}
