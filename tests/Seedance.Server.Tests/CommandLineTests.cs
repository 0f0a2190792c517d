using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Seedance.Server.Cli;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The operator's commands of the server binary on a data directory: run in this process through the entry the binary
/// uses (<see cref="CommandLine.RunAsync"/> with the console's writers), and as real processes where the binary itself
/// is the point (a key created by the binary, exit codes of a bad configuration).
/// </summary>
[TakesAbout(15)]
public sealed class CommandLineTests
{
    [Fact]
    public async Task KeysCommandsPrintJsonAndExitZero()
    {
        var dataDir = TempDir.Create();
        try
        {
            var created = await KeysAsync(dataDir, "create", "--name", "acme", "--credits", "1000", "--max-concurrent", "3");
            var apiKey = created["api_key"]!.GetValue<string>();
            var keyId = created["key"]!["key_id"]!.GetValue<long>();
            Assert.Matches(new Regex("^sk-sd2-[0-9a-f]{32,}$"), apiKey);
            Assert.Equal(("acme", 1000m, 3), (created["key"]!["name"]!.GetValue<string>(), created["key"]!["total_credits"]!.GetValue<decimal>(),
                created["key"]!["max_concurrent"]!.GetValue<int>()));

            var list = (await KeysAsync(dataDir, "list")).AsArray();
            Assert.Equal(keyId, Assert.Single(list)!["key_id"]!.GetValue<long>());
            Assert.DoesNotContain(apiKey, list.ToJsonString());

            var shown = await KeysAsync(dataDir, "show", keyId.ToString());
            Assert.Equal(("acme", true), (shown["name"]!.GetValue<string>(), shown["enabled"]!.GetValue<bool>()));
            Assert.Null(shown["api_key"]);
            Assert.DoesNotContain(apiKey, shown.ToJsonString());

            var disabled = await KeysAsync(dataDir, "update", keyId.ToString(), "--disable", "--max-pending", "9");
            Assert.Equal((false, 9, 3), (disabled["enabled"]!.GetValue<bool>(), disabled["max_pending"]!.GetValue<int>(), disabled["max_concurrent"]!.GetValue<int>()));
            Assert.False((await KeysAsync(dataDir, "show", keyId.ToString()))["enabled"]!.GetValue<bool>());
            Assert.True((await KeysAsync(dataDir, "update", keyId.ToString(), "--enable"))["enabled"]!.GetValue<bool>());

            var topped = await KeysAsync(dataDir, "credits", keyId.ToString(), "--amount", "50", "--note", "x");
            Assert.Equal((1050m, 1050m), (topped["total_credits"]!.GetValue<decimal>(), topped["remain_credits"]!.GetValue<decimal>()));

            var ledger = await KeysAsync(dataDir, "ledger", keyId.ToString());
            Assert.Equal(2, ledger["total"]!.GetValue<int>());
            Assert.Equal([("topup", 50m, "x"), ("topup", 1000m, "initial credits")], ledger["data"]!.AsArray()
                .Select(e => (e!["kind"]!.GetValue<string>(), e["amount"]!.GetValue<decimal>(), e["note"]?.GetValue<string>())));
        }
        finally { TempDir.Delete(dataDir); }
    }

    [Fact]
    public async Task ARefusedCommandExitsNonZeroWithTheErrorCodeOnStderrAndChangesNothing()
    {
        var dataDir = TempDir.Create();
        try
        {
            var keyId = (await KeysAsync(dataDir, "create", "--name", "acme", "--credits", "100"))["key"]!["key_id"]!.GetValue<long>().ToString();

            var below = await RunAsync(dataDir, "keys", "credits", keyId, "--amount", "-100.01");
            Assert.True(below.ExitCode != 0, below.ToString());
            Assert.Contains("INVALID_PARAMETER", below.Stderr);
            Assert.Equal("", below.Stdout.Trim());

            var unknown = await RunAsync(dataDir, "keys", "show", "999");
            Assert.True(unknown.ExitCode != 0, unknown.ToString());
            Assert.Contains("KEY_NOT_FOUND", unknown.Stderr);

            var nameless = await RunAsync(dataDir, "keys", "create", "--credits", "5");
            Assert.True(nameless.ExitCode != 0, nameless.ToString());
            Assert.Contains("--name", nameless.Stderr);

            Assert.Equal(100m, (await KeysAsync(dataDir, "show", keyId))["total_credits"]!.GetValue<decimal>());
            Assert.Single((await KeysAsync(dataDir, "list")).AsArray());
        }
        finally { TempDir.Delete(dataDir); }
    }

    [Fact]
    public async Task AKeyCreatedByTheCommandLineWorksAgainstAServerOnTheSameDataDirectory()
    {
        var dataDir = TempDir.Create();
        var run = await ServerProcess.RunAsync(["keys", "create", "--name", "cli", "--credits", "10", "--data-dir", dataDir]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var created = JsonNode.Parse(run.Stdout)!;
        var keyId = created["key"]!["key_id"]!.GetValue<long>();
        await using var server = await RunningServer.StartAsync(dataDir: dataDir);
        using var client = new ApiClient(server.BaseUrl, created["api_key"]!.GetValue<string>(), keyId);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("A red fox in the snow"));
        Assert.Equal("completed", task["status"]!.GetValue<string>());

        // Adjusting down below what the server has charged is refused; down to it is not.
        var below = await RunAsync(dataDir, "keys", "credits", keyId.ToString(), "--amount", "-6.41");
        Assert.True(below.ExitCode != 0, below.ToString());
        Assert.Contains("INVALID_PARAMETER", below.Stderr);
        var exact = await KeysAsync(dataDir, "credits", keyId.ToString(), "--amount", "-6.4", "--note", "refund");
        Assert.Equal((3.6m, 3.6m, 0m), (exact["total_credits"]!.GetValue<decimal>(), exact["used_credits"]!.GetValue<decimal>(),
            exact["remain_credits"]!.GetValue<decimal>()));
        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal((3.6m, 0m), (balance.Result!["total_credits"]!.GetValue<decimal>(), balance.Result!["remain_credits"]!.GetValue<decimal>()));

        // Disabled from the command line, the key stops working on the running server.
        await KeysAsync(dataDir, "update", keyId.ToString(), "--disable");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await client.BalanceAsync()).Status != 401)
        {
            Assert.True(DateTime.UtcNow < deadline, "the key disabled by the command line still works after 10 s");
            await Task.Delay(100);
        }
    }

    // Settings are checked before any database is opened, whichever the pass gives: these two run in the SQLite pass.
    [SqlitePassTheory]
    [InlineData("Seedance__Keys__MaxConcurrent", "0", "Seedance:Keys:MaxConcurrent")]
    [InlineData("Seedance__Keys__MaxConcurrent", "many", "Seedance:Keys:MaxConcurrent")]
    [InlineData("Seedance__Tasks__ResultLinkDays", "31", "Seedance:Tasks:ResultLinkDays")]
    [InlineData("Seedance__AdminToken", "short", "Seedance:AdminToken")]
    [InlineData("Seedance__SigningKey", "c2hvcnQ=", "Seedance:SigningKey")]
    [InlineData("Seedance__Storage__Provider", "gcs", "Seedance:Storage:Provider")]
    [InlineData("Seedance__Database__Provider", "postgres", "ConnectionStrings:Seedance")]
    [InlineData("Seedance__Database__Synchronous", "sometimes", "Seedance:Database:Synchronous")]
    [InlineData("Seedance__Node__LeaseSeconds", "0.5", "Seedance:Node:LeaseSeconds")]
    [InlineData("Seedance__Node__Id", "two words", "Seedance:Node:Id")]
    [InlineData("Seedance__Retention__IdempotencyHours", "12", "Seedance:Retention:IdempotencyHours")]
    [InlineData("Seedance__Metrics__Port", "70000", "Seedance:Metrics:Port")]
    public async Task AnInvalidSettingStopsTheServerWithExitCode2AndAMessageNamingIt(string variable, string value, string setting)
    {
        var dataDir = TempDir.Create();
        try
        {
            var result = await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"],
                new Dictionary<string, string> { ["Seedance__DataDir"] = dataDir, [variable] = value }, timeoutSeconds: 60);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains(setting, result.Stderr);
            Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
        }
        finally { TempDir.Delete(dataDir); }
    }

    [SqlitePassFact]
    public async Task AnInvalidSettingStopsACommandWithExitCode2AndAMessageNamingIt()
    {
        var dataDir = TempDir.Create();
        try
        {
            var result = await ServerProcess.RunAsync(["keys", "list", "--data-dir", dataDir],
                new Dictionary<string, string> { ["Seedance__Keys__MaxConcurrent"] = "0" });
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("Seedance:Keys:MaxConcurrent", result.Stderr);
            Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
        }
        finally { TempDir.Delete(dataDir); }
    }

    /// <summary>Runs a command in this process as the binary does, on the data directory's database.</summary>
    [Fact]
    public async Task ChannelsCommandsKeepTheUpstreamKeyEncryptedAndSealItAgainAfterTheSecretsKeyRotates()
    {
        const string oldKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", newKey = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
        var dataDir = TempDir.Create();
        try
        {
            var before = new Dictionary<string, string?> { ["Seedance:SecretsKey"] = oldKey };
            var created = await ChannelsAsync(dataDir, before, "create", "backup", "--provider", "ark", "--base-url", "https://ark.example.com/api/v3",
                "--api-key", "ark-secret-0123456789abcdef", "--model", "seedance-2.0=doubao-seedance-2-0-260128", "--inline-images", "true", "--disable");
            Assert.Equal(("database", "disabled", "ark-se..."), (created["source"]!.GetValue<string>(), created["state"]!.GetValue<string>(),
                created["api_key_prefix"]!.GetValue<string>()));
            Assert.Equal("doubao-seedance-2-0-260128", created["models"]!["seedance-2.0"]!.GetValue<string>());
            Assert.DoesNotContain("ark-secret-0123456789abcdef", created.ToJsonString());

            // A new secrets key alone cannot open what the old one sealed; with the old one as previous, reencrypt seals it anew.
            var rotated = new Dictionary<string, string?> { ["Seedance:SecretsKey"] = newKey };
            var refused = await RunWithAsync(dataDir, rotated, "channels", "update", "backup", "--priority", "3");
            Assert.True(refused.ExitCode == CommandLine.Refused && refused.Stderr.Contains("cannot be opened"), refused.ToString());
            var resealed = await ChannelsAsync(dataDir, new(rotated) { ["Seedance:PreviousSecretsKeys:0"] = oldKey }, "reencrypt");
            Assert.Equal(1, resealed["resealed"]!.GetValue<int>());
            Assert.Equal(3, (await ChannelsAsync(dataDir, rotated, "update", "backup", "--priority", "3"))["priority"]!.GetValue<int>());

            Assert.Equal("backup", Assert.Single((await ChannelsAsync(dataDir, rotated, "list")).AsArray())!["name"]!.GetValue<string>());
            await ChannelsAsync(dataDir, rotated, "delete", "backup");
            var gone = await RunWithAsync(dataDir, rotated, "channels", "show", "backup");
            Assert.True(gone.ExitCode == CommandLine.Refused && gone.Stderr.Contains("CHANNEL_NOT_FOUND"), gone.ToString());
        }
        finally { TempDir.Delete(dataDir); }
    }

    private static async Task<JsonNode> ChannelsAsync(string dataDir, Dictionary<string, string?> settings, params string[] args)
    {
        var result = await RunWithAsync(dataDir, settings, ["channels", .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonNode.Parse(result.Stdout) ?? throw new Xunit.Sdk.XunitException($"No JSON printed: {result}");
    }

    private static Task<CommandResult> RunAsync(string dataDir, params string[] args) => RunWithAsync(dataDir, new Dictionary<string, string?>(), args);

    /// <param name="extra">Settings beside the test database's.</param>
    private static async Task<CommandResult> RunWithAsync(string dataDir, Dictionary<string, string?> extra, params string[] args)
    {
        var settings = (await TestDatabase.SettingsAsync(dataDir)).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        foreach (var (k, v) in extra) settings[k] = v;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CommandLine.RunAsync([.. args, "--data-dir", dataDir], stdout, stderr, settings);
        return new CommandResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>keys ...</c>, asserts it succeeded, and parses the JSON it printed.</summary>
    private static async Task<JsonNode> KeysAsync(string dataDir, params string[] args)
    {
        var result = await RunAsync(dataDir, ["keys", .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonNode.Parse(result.Stdout) ?? throw new Xunit.Sdk.XunitException($"No JSON printed: {result}");
    }
}
