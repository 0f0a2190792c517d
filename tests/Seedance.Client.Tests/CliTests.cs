using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FFMpegCore;
using Seedance.Cli;
using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>The <c>seedance</c> command against the real server (sandbox provider, real ffmpeg), as a new user would try it.</summary>
public sealed class CliTests(SdkServer fixture) : IClassFixture<SdkServer>
{
    [Fact]
    public async Task GenerateUploadsTheImageShowsTheCostAndSavesAPlayableMp4WhosePathItPrints()
    {
        var api = await fixture.Server.CreateKeyAsync(credits: 100m);
        using var cli = SeedanceCommand.For(fixture.Server, api.ApiKey);
        var image = Path.Combine(cli.ConfigDirectory, "first.png");
        var video = Path.Combine(cli.ConfigDirectory, "out.mp4");
        await File.WriteAllBytesAsync(image, await Media.PngAsync("green", 640, 480));

        var result = await cli.RunAsync("generate", "A green field in the wind", "--image", image, "--resolution", "480p", "--ratio", "4:3",
            "--duration", "4", "--last-frame", "-o", video);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Cost: 3.60 credits. Balance: 100.00, 96.40 after this task.", result.Error);
        Assert.Contains("completed", result.Error);
        Assert.Equal([video, Path.ChangeExtension(video, ".last-frame.png")], result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var analysis = await FFProbe.AnalyseAsync(video);
        Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
        Assert.Equal((640, 480), (analysis.PrimaryVideoStream.Width, analysis.PrimaryVideoStream.Height));
        Assert.InRange(analysis.Duration.TotalSeconds, 3.9, 4.1);
    }

    [Fact]
    public async Task AsARealProcessGenerateWithJsonSavesAPlayableMp4AndDescribesIt()
    {
        var api = await fixture.Server.CreateKeyAsync();
        using var cli = SeedanceCommand.For(fixture.Server, api.ApiKey);
        var video = Path.Combine(cli.ConfigDirectory, "process.mp4");

        var result = await cli.RunProcessAsync("generate", "A lighthouse at night", "--resolution", "480p", "--duration", "5", "--sound", "-o", video, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = JsonNode.Parse(result.Out)!;
        Assert.Equal(video, json["file"]!.GetValue<string>());
        Assert.Equal("completed", json["task"]!["status"]!.GetValue<string>());
        var analysis = await FFProbe.AnalyseAsync(video);
        Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
        Assert.NotNull(analysis.PrimaryAudioStream);
        Assert.InRange(analysis.Duration.TotalSeconds, 4.9, 5.1);
    }

    [Fact]
    public async Task WithoutConfigurationEveryCommandSaysHowToConfigure()
    {
        using var cli = new SeedanceCommand();
        foreach (var args in new[] { new[] { "balance" }, ["list"], ["generate", "A cat", "--yes"], ["status", "abc"] })
        {
            var result = await cli.RunAsync(args);
            Assert.Equal(ExitCodes.UserError, result.ExitCode);
            Assert.Contains("seedance login", result.Error);
            Assert.Contains("SEEDANCE_API_KEY", result.Error);
        }
        var process = await cli.RunProcessAsync("balance");
        Assert.Equal(ExitCodes.UserError, process.ExitCode);
        Assert.Contains("seedance login", process.Error);
    }

    [Fact]
    public async Task ATypoInAFlagOrCommandSuggestsTheRightOne()
    {
        using var cli = new SeedanceCommand();
        var flag = await cli.RunAsync("generate", "A cat", "--resolutoin", "480p");
        Assert.Equal(ExitCodes.UserError, flag.ExitCode);
        Assert.Contains("'--resolutoin' was not matched. Did you mean one of the following?", flag.Out + flag.Error);
        Assert.Contains("--resolution", flag.Out + flag.Error);

        var command = await cli.RunAsync("balanse");
        Assert.Equal(ExitCodes.UserError, command.ExitCode);
        Assert.Contains("balance", command.Out + command.Error);

        var value = await cli.RunAsync("generate", "A cat", "--ratio", "16x9");
        Assert.Equal(ExitCodes.UserError, value.ExitCode);
        Assert.Contains("16:9", value.Out + value.Error);
    }

    [Fact]
    public async Task TheHelpOfEveryCommandShowsAnExample()
    {
        using var cli = new SeedanceCommand();
        using var none = new StringWriter();
        var root = SeedanceCli.Build(CliContext.ForTests(none, none, new Dictionary<string, string>(), cli.ConfigDirectory));
        var paths = new List<string[]>();
        void Walk(Command command, string[] path)
        {
            paths.Add(path);
            foreach (var sub in command.Subcommands) Walk(sub, [.. path, sub.Name]);
        }
        Walk(root, []);
        Assert.True(paths.Count >= 16, $"{paths.Count} commands");

        foreach (var path in paths)
        {
            var result = await cli.RunAsync([.. path, "--help"]);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', path)}: {result}");
            Assert.Contains("Example", result.Out);
            Assert.Contains($"seedance {string.Join(' ', path)}".TrimEnd(), result.Out);
        }
    }

    [Fact]
    public async Task ErrorsTheServerAnswersEndCommandsWithTheirCodeAndExitCode()
    {
        var poor = await fixture.Server.CreateKeyAsync(credits: 1m);
        using var cli = SeedanceCommand.For(fixture.Server, poor.ApiKey);
        var credit = await cli.RunAsync("generate", "Too expensive", "--resolution", "1080p", "--duration", "15", "--yes");
        Assert.True(credit.ExitCode == ExitCodes.Refused, credit.ToString());
        Assert.Contains("(INSUFFICIENT_CREDIT)", credit.Error);
        Assert.Contains("nothing was uploaded or submitted", credit.Error); // the server's quote said so before anything was sent
        Assert.Equal(0, (await poor.ListAsync()).Result!["total"]!.GetValue<int>());

        var unknown = await cli.RunAsync("status", "0123456789abcdef0123456789abcdef");
        Assert.True(unknown.ExitCode == ExitCodes.UserError, unknown.ToString());
        Assert.Contains("(TASK_NOT_FOUND)", unknown.Error);

        using var wrong = SeedanceCommand.For(fixture.Server, "sk-sd2-wrong");
        var key = await wrong.RunAsync("balance");
        Assert.True(key.ExitCode == ExitCodes.UserError, key.ToString());
        Assert.Contains("(INVALID_API_KEY)", key.Error);

        var invalid = await cli.RunAsync("generate", "Too short", "--duration", "3", "--yes");
        Assert.True(invalid.ExitCode == ExitCodes.UserError, invalid.ToString());
        Assert.Contains("error: Invalid parameter: duration must be 4-15 (INVALID_PARAMETER)", invalid.Error);
    }

    [Fact]
    public async Task LoginStoresTheKeyReadableOnlyByTheUserAndLaterCommandsUseIt()
    {
        var api = await fixture.Server.CreateKeyAsync(credits: 42m);
        using var cli = new SeedanceCommand();

        var login = await cli.RunAsync("login", "--api-key", api.ApiKey, "--base-url", fixture.Server.BaseUrl);
        Assert.True(login.ExitCode == 0, login.ToString());
        var file = Path.Combine(cli.ConfigDirectory, "seedance", "config.json");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        var balance = await cli.RunAsync("balance", "--json");
        Assert.True(balance.ExitCode == 0, balance.ToString());
        Assert.Equal(42m, JsonNode.Parse(balance.Out)!["remain_credits"]!.GetValue<decimal>());

        var refused = await cli.RunAsync("login", "--api-key", "sk-sd2-wrong", "--base-url", fixture.Server.BaseUrl);
        Assert.Equal(ExitCodes.UserError, refused.ExitCode);
        Assert.Contains(api.ApiKey, await File.ReadAllTextAsync(file)); // a key the server refuses is not stored
    }

    [Fact]
    public async Task NoWaitStatusListCancelUploadDownloadAndDeleteWorkTogetherWithJson()
    {
        var api = await fixture.Server.CreateKeyAsync(maxConcurrent: 1);
        using var cli = SeedanceCommand.For(fixture.Server, api.ApiKey);
        var image = Path.Combine(cli.ConfigDirectory, "ref.png");
        await File.WriteAllBytesAsync(image, await Media.PngAsync());

        var upload = await cli.RunAsync("upload", image, "--json");
        Assert.True(upload.ExitCode == 0, upload.ToString());
        var filePath = JsonNode.Parse(upload.Out)![0]!["file_path"]!.GetValue<string>();

        var submitted = await cli.RunAsync("generate", "A red square", "--image", filePath, "--resolution", "480p", "--duration", "4", "--no-wait");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var taskId = submitted.Out.Trim();
        var waited = await cli.RunAsync("status", taskId, "--wait", "--json");
        Assert.Equal("completed", JsonNode.Parse(waited.Out)!["status"]!.GetValue<string>());
        Assert.StartsWith("http", JsonNode.Parse(waited.Out)!["thumbnail_url"]!.GetValue<string>());
        var shown = await cli.RunAsync("status", taskId);
        Assert.Matches(@"video_url\s+http", shown.Out);
        Assert.Matches(@"thumbnail_url\s+http", shown.Out);

        var stalled = (await cli.RunAsync("generate", "Never ends [sandbox:stall]", "--resolution", "480p", "--duration", "4", "--no-wait")).Out.Trim();
        var pending = (await cli.RunAsync("generate", "Waits its turn", "--resolution", "480p", "--duration", "4", "--no-wait", "--json"));
        var pendingId = JsonNode.Parse(pending.Out)!["task_id"]!.GetValue<string>();
        var place = await cli.RunAsync("status", pendingId);
        Assert.Matches(@"queue_position\s+0", place.Out); // next in line, behind the one that holds the key's only slot
        var cancel = await cli.RunAsync("cancel", pendingId);
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Equal($"{pendingId} cancelled", cancel.Out.Trim());
        Assert.Contains("3.60 credits refunded", cancel.Error);
        // A cancelled task cannot be cancelled again (the API document's rule for every finished task); the refusal says what it gave back.
        var again = await cli.RunAsync("cancel", pendingId);
        Assert.Equal(ExitCodes.Refused, again.ExitCode);
        Assert.Contains("task is already cancelled (3.6 credits refunded) (TASK_CANCEL_NOT_ALLOWED)", again.Error);

        var all = JsonNode.Parse((await cli.RunAsync("list", "--all", "--json")).Out)!.AsArray();
        Assert.Equal([pendingId, stalled, taskId], all.Select(t => t!["task_id"]!.GetValue<string>()).ToArray());
        var cancelled = JsonNode.Parse((await cli.RunAsync("list", "--status", "cancelled", "--json")).Out)!.AsArray();
        Assert.Equal([pendingId], cancelled.Select(t => t!["task_id"]!.GetValue<string>()).ToArray());
        var table = await cli.RunAsync("list");
        Assert.Contains(taskId, table.Out);
        Assert.Contains("TASK ID", table.Out);

        var path = Path.Combine(cli.ConfigDirectory, "again.mp4");
        var download = await cli.RunAsync("download", taskId, "-o", path);
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal("h264", (await FFProbe.AnalyseAsync(path)).PrimaryVideoStream!.CodecName);
        var deleted = await cli.RunAsync("delete", taskId);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Equal($"{taskId} completed: result files deleted", deleted.Out.Trim());
        var gone = await cli.RunAsync("download", taskId, "-o", path + ".2");
        Assert.True(gone.ExitCode == ExitCodes.UserError, gone.ToString());
        Assert.Contains($"Task {taskId} is completed and has no video to download: its result files were deleted", gone.Error);
        var running = await cli.RunAsync("delete", stalled);
        Assert.Equal(ExitCodes.UserError, running.ExitCode);
        Assert.Contains("cancel it first (INVALID_PARAMETER)", running.Error);
        var notDone = await cli.RunAsync("download", stalled);
        Assert.True(notDone.ExitCode == ExitCodes.UserError, notDone.ToString());
        Assert.Contains($"seedance status {stalled} --wait", notDone.Error);
    }

    [Fact]
    public async Task CtrlCWhileWaitingLeavesTheTaskRunningAndSaysHowToFollowIt()
    {
        var api = await fixture.Server.CreateKeyAsync();
        using var cli = SeedanceCommand.For(fixture.Server, api.ApiKey);
        using var interrupt = new CancellationTokenSource();

        var run = cli.RunAsync(interrupt.Token, "generate", "Never ends [sandbox:stall]", "--resolution", "480p", "--duration", "4", "--yes");
        // Once the task is processing, the command has long had the answer to its submission and is waiting.
        while ((await api.ListAsync("?status=processing")).Result!["data"]!.AsArray().Count == 0) await Task.Delay(100);
        interrupt.Cancel();
        var result = await run;

        Assert.True(result.ExitCode == ExitCodes.Interrupted, result.ToString());
        Assert.Contains("goes on", result.Error);
        Assert.Contains("seedance cancel", result.Error);
    }

    [Fact]
    public async Task OperatorCommandsCreateListDisableKeysAndAddCredits()
    {
        using var cli = new SeedanceCommand(new() { ["SEEDANCE_BASE_URL"] = fixture.Server.BaseUrl, ["SEEDANCE_ADMIN_TOKEN"] = RunningServer.AdminToken });

        var create = await cli.RunAsync("admin", "keys", "create", "--name", "cli-customer", "--credits", "10", "--json");
        Assert.True(create.ExitCode == 0, create.ToString());
        var created = JsonNode.Parse(create.Out)!;
        var keyId = created["key"]!["key_id"]!.GetValue<long>().ToString();
        var apiKey = created["api_key"]!.GetValue<string>();

        var add = await cli.RunAsync("admin", "credits", "add", keyId, "--amount", "5.5", "--note", "invoice 42", "--json");
        Assert.Equal(15.5m, JsonNode.Parse(add.Out)!["remain_credits"]!.GetValue<decimal>());
        var list = await cli.RunAsync("admin", "keys", "list");
        Assert.Contains("cli-customer", list.Out);

        var disable = await cli.RunAsync("admin", "keys", "disable", keyId);
        Assert.True(disable.ExitCode == 0, disable.ToString());
        using var customer = SeedanceCommand.For(fixture.Server, apiKey);
        SeedanceCommand.Result balance;
        var tries = 0;
        do balance = await customer.RunAsync("balance"); // the server notices a disabled key within a second
        while (balance.ExitCode == 0 && ++tries < 100 && await Delay());
        Assert.True(balance.ExitCode == ExitCodes.UserError, balance.ToString());
        Assert.Contains("(INVALID_API_KEY)", balance.Error);

        using var noToken = new SeedanceCommand(new() { ["SEEDANCE_BASE_URL"] = fixture.Server.BaseUrl });
        var refused = await noToken.RunAsync("admin", "keys", "list");
        Assert.Equal(ExitCodes.UserError, refused.ExitCode);
        Assert.Contains("SEEDANCE_ADMIN_TOKEN", refused.Error);
        var wrong = await noToken.RunAsync("admin", "keys", "list", "--admin-token", "not-the-token-at-all");
        Assert.Contains("(INVALID_ADMIN_TOKEN)", wrong.Error);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }
}
