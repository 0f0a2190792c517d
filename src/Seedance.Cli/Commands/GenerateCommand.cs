using System.CommandLine;
using System.Diagnostics;
using Seedance.Client;
using Spectre.Console;

namespace Seedance.Cli.Commands;

/// <summary><c>seedance generate</c>: check, show the cost, upload, submit, follow, download, print the path.</summary>
public static class GenerateCommand
{
    public static Command Create(CliContext context)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the video shows" };
        var images = new Option<string[]>("--image") { Description = "A reference image: a local file (uploaded), an https:// URL or an uploaded file_path; repeatable" };
        var videos = new Option<string[]>("--video") { Description = "A reference video: a local file (uploaded), an https:// URL or an uploaded file_path; repeatable" };
        var audios = new Option<string[]>("--audio") { Description = "A reference audio clip (https:// URL; needs an image or video); repeatable" };
        var model = new Option<string?>("--model") { Description = "Model: seedance-2.0 (default), seedance-2.0-fast, or another the server offers (seedance models)" };
        var resolution = new Option<string?>("--resolution") { Description = "Resolution: 480p, 720p (default), 1080p, or another the model offers" };
        var ratio = new Option<string?>("--ratio") { Description = "Aspect ratio: 16:9 (default), 9:16, 4:3, 3:4, 1:1, 21:9" };
        Shaped(resolution, ResolutionShape, "a resolution is written like 720p (480p, 720p, 1080p, or another the model offers)");
        Shaped(ratio, RatioShape, "a ratio is written like 16:9 (16:9, 9:16, 4:3, 3:4, 1:1, 21:9, or another the model offers)");
        var duration = new Option<int?>("--duration") { Description = "Length in seconds (the document's models: 4-15, default 5)" };
        var sound = new Option<bool>("--sound") { Description = "Generate an audio track" };
        var seed = new Option<long?>("--seed") { Description = "Random seed (-1 or more)" };
        var lastFrame = new Option<bool>("--last-frame") { Description = "Also download the last frame as a PNG beside the video" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to save the video (default <task_id>.mp4)" };
        var yes = new Option<bool>("--yes", "-y") { Description = "Submit without asking to confirm the cost" };
        var noWait = new Option<bool>("--no-wait") { Description = "Print the task id and return without waiting" };

        var command = new Command("generate",
            "Generate a video: shows the cost and the balance it leaves, uploads local files, submits, follows the task and downloads the video.\n" +
            "Ctrl-C while waiting offers to cancel the task.\n\n" +
            "Examples:\n" +
            "  seedance generate \"A cat running under cherry blossoms\" --duration 8 -o cat.mp4\n" +
            "  seedance generate \"The character turns around\" --image character.png --resolution 1080p --ratio 9:16 --yes\n" +
            "  seedance generate \"A drum circle on the beach\" --sound --no-wait --json")
        {
            prompt, images, videos, audios, model, resolution, ratio, duration, sound, seed, lastFrame, output, yes, noWait,
        };
        command.SetAction(async parse =>
        {
            var json = parse.GetValue(SeedanceCli.Json);
            var files = new List<(ContentKind Kind, string Source)>();
            files.AddRange((parse.GetValue(images) ?? []).Select(i => (ContentKind.Image, i)));
            files.AddRange((parse.GetValue(videos) ?? []).Select(v => (ContentKind.Video, v)));
            VideoGenerationRequest Describe() => new(parse.GetValue(prompt)!)
            {
                Model = parse.GetValue(model) is { } modelName ? new VideoModel(modelName.ToLowerInvariant()) : null,
                Resolution = parse.GetValue(resolution) is { } resolutionName ? new VideoResolution(resolutionName.ToLowerInvariant()) : null,
                Ratio = parse.GetValue(ratio) is { } ratioName ? new AspectRatio(ratioName) : null,
                Duration = parse.GetValue(duration),
                GenerateAudio = parse.GetValue(sound) ? true : null,
                Seed = parse.GetValue(seed),
                ReturnLastFrame = parse.GetValue(lastFrame) ? true : null,
            };
            var request = Describe();
            // Placeholders keep the request's shape for validation; local files are uploaded only after the question.
            foreach (var (kind, source) in files) request.Content.Add(Reference(kind, IsLocal(source) ? "api/uploads/0/placeholder" : source));
            foreach (var audio in parse.GetValue(audios) ?? []) request.Content.Add(ContentItem.Audio(audio));
            request.Validate();
            foreach (var (_, source) in files.Where(f => IsLocal(f.Source)))
            {
                if (!File.Exists(source)) throw new CliException($"{source}: no such file", ExitCodes.UserError);
                if (UploadContentTypes.For(source) is null)
                    throw new CliException($"{source}: uploads must be one of {string.Join(", ", UploadContentTypes.Extensions)}", ExitCodes.UserError);
            }

            var ct = context.Interrupted;
            using var client = CliConfig.Load(context).Client();
            // The server's quote: its catalogue and prices, and its checks of all but the local files, which are not uploaded yet
            // (audio goes along only beside a reference that does, since audio needs an image or a video).
            var quoted = Describe();
            foreach (var (kind, source) in files.Where(f => !IsLocal(f.Source))) quoted.Content.Add(Reference(kind, source));
            if (quoted.Content.Count > 1) foreach (var audio in parse.GetValue(audios) ?? []) quoted.Content.Add(ContentItem.Audio(audio));
            var quote = await client.QuoteAsync(quoted, ct);
            context.Error.WriteLine($"Cost: {Output.Credits(quote.CreditCost)} credits. Balance: {Output.Credits(quote.RemainCredits)}, {Output.Credits(quote.RemainCredits - quote.CreditCost)} after this task.");
            if (!quote.Affordable)
                throw new CliException($"Insufficient credits: this task costs {Output.Credits(quote.CreditCost)} and {Output.Credits(quote.RemainCredits)} remain; nothing was uploaded or submitted",
                    ExitCodes.Refused, SeedanceErrorCodes.InsufficientCredit);
            if (!parse.GetValue(yes) && context.Interactive && !await context.Console.ConfirmAsync("Submit?", defaultValue: true, ct))
            {
                context.Error.WriteLine("Not submitted.");
                return ExitCodes.Ok;
            }

            request.Content.Clear();
            request.Content.Add(ContentItem.Text(parse.GetValue(prompt)!));
            foreach (var (kind, source) in files)
                request.Content.Add(Reference(kind, IsLocal(source) ? (await Progress.UploadAsync(context, client, source, ct)).FilePath : source));
            foreach (var audio in parse.GetValue(audios) ?? []) request.Content.Add(ContentItem.Audio(audio));

            var operation = await client.CreateTaskAsync(request, ct);
            if (parse.GetValue(noWait))
            {
                if (json) Output.WriteJson(context, new { task_id = operation.TaskId, status = operation.Status, credit_cost = operation.CreditCost });
                else context.Out.WriteLine(operation.TaskId);
                return ExitCodes.Ok;
            }
            context.Error.WriteLine($"Task {operation.TaskId} submitted.");

            VideoTask task;
            try
            {
                task = await Progress.WaitAsync(context, operation, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return await OfferCancelAsync(context, client, operation.TaskId);
            }
            task.EnsureCompleted();

            var path = Path.GetFullPath(parse.GetValue(output) ?? $"{task.TaskId}.mp4");
            await Progress.DownloadAsync(context, "video", (p, c) => operation.DownloadVideoAsync(path, p, c), ct);
            string? framePath = null;
            if (task.LastFrameUrl is not null)
            {
                framePath = Path.ChangeExtension(path, ".last-frame.png");
                await Progress.DownloadAsync(context, "last frame", (p, c) => operation.DownloadLastFrameAsync(framePath, p, c), ct);
            }
            if (json) Output.WriteJson(context, new { task, file = path, last_frame_file = framePath });
            else
            {
                context.Out.WriteLine(path);
                if (framePath is not null) context.Out.WriteLine(framePath);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<int> OfferCancelAsync(CliContext context, SeedanceClient client, string taskId)
    {
        context.Error.WriteLine();
        if (context.Interactive && await context.Console.ConfirmAsync($"Cancel task {taskId} on the server?", defaultValue: false))
        {
            await client.CancelTaskAsync(taskId);
            context.Error.WriteLine($"Task {taskId} cancelled.");
        }
        else context.Error.WriteLine($"Task {taskId} goes on. Follow it with `seedance status {taskId} --wait`, or `seedance cancel {taskId}`.");
        return ExitCodes.Interrupted;
    }

    /// <summary>How a resolution and a ratio are written (as the server's catalogue accepts them).</summary>
    internal const string ResolutionShape = "(?i)^[1-9][0-9]{2,3}p$", RatioShape = "^[1-9][0-9]?:[1-9][0-9]?$";

    /// <summary>Refuses a value that cannot be one of its kind; which values the model offers is the server's to say.</summary>
    internal static void Shaped(Option<string?> option, string pattern, string rule) =>
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && !System.Text.RegularExpressions.Regex.IsMatch(value, pattern))
                result.AddError($"{option.Name} {value}: {rule}");
        });

    internal static Option<string?> Choice<T>(string name, string what) where T : struct, Enum
    {
        var option = new Option<string?>(name) { Description = $"{what}: {string.Join(", ", WireName.All<T>())}" };
        option.AcceptOnlyFromAmong(WireName.All<T>().ToArray());
        return option;
    }

    internal static T? Parse<T>(string? text) where T : struct, Enum => text is not null && WireName.TryParse<T>(text, out var value) ? value : null;

    private static bool IsLocal(string source) =>
        !source.StartsWith("https://", StringComparison.Ordinal) && !source.StartsWith("api/uploads/", StringComparison.Ordinal);

    private static ContentItem Reference(ContentKind kind, string value) => kind == ContentKind.Image ? ContentItem.Image(value) : ContentItem.Video(value);
}

/// <summary>Progress shown while uploading, waiting and downloading: drawn at a terminal, a few plain lines otherwise.</summary>
internal static class Progress
{
    public static async Task<UploadedFile> UploadAsync(CliContext context, SeedanceClient client, string path, CancellationToken ct)
    {
        UploadedFile? uploaded = null;
        await Transfer(context, $"Uploading {Path.GetFileName(path)}", async p => uploaded = await client.UploadFileAsync(path, p, ct));
        context.Error.WriteLine($"Uploaded {path} as {uploaded!.FilePath}");
        return uploaded;
    }

    public static Task DownloadAsync(CliContext context, string what, Func<IProgress<TransferProgress>, CancellationToken, Task> download, CancellationToken ct) =>
        Transfer(context, $"Downloading {what}", p => download(p, ct));

    public static async Task<VideoTask> WaitAsync(CliContext context, VideoTaskOperation operation, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string Line(VideoTask? task) =>
            $"Task {operation.TaskId}: {WireName.Of(task?.Status ?? operation.Status)}{Outlook(task)} ({clock.Elapsed:m\\:ss})";
        if (!context.Interactive)
        {
            var last = (VideoTaskStatus?)null;
            var progress = new Reporter<VideoTask>(t =>
            {
                if (t.Status == last) return;
                last = t.Status;
                context.Error.WriteLine(Line(t));
            });
            return await operation.WaitForCompletionAsync(progress, ct);
        }
        VideoTask? result = null;
        await context.Console.Status().StartAsync(Markup.Escape(Line(operation.Value)), async status =>
        {
            var waiting = operation.WaitForCompletionAsync(null, ct);
            while (await Task.WhenAny(waiting, Task.Delay(1000, CancellationToken.None)) != waiting) status.Status(Markup.Escape(Line(operation.Value)));
            result = await waiting;
        });
        context.Error.WriteLine(Line(result));
        return result!;
    }

    /// <summary>Where an unfinished task stands, as the server estimates it: its place in line, a progress bar and when it should end.</summary>
    public static string Outlook(VideoTask? task)
    {
        if (task is null || task.IsFinal) return "";
        var line = new System.Text.StringBuilder();
        if (task.QueuePosition is { } ahead) line.Append(ahead == 0 ? ", next in line" : $", {ahead} ahead in line");
        if (task.Progress is { } percent)
        {
            var filled = Math.Clamp(percent, 0, 100) / 5;
            line.Append(' ').Append(new string('━', filled)).Append(new string('─', 20 - filled)).Append($" {percent}%");
        }
        if (task.EstimatedFinishAt is { } eta) line.Append($", ETA {eta.ToLocalTime():HH:mm:ss}");
        return line.ToString();
    }

    private static async Task Transfer(CliContext context, string what, Func<IProgress<TransferProgress>, Task> transfer)
    {
        if (!context.Interactive)
        {
            await transfer(new Reporter<TransferProgress>(_ => { }));
            return;
        }
        await context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask(Markup.Escape(what), maxValue: 1);
                await transfer(new Reporter<TransferProgress>(p =>
                {
                    if (p.TotalBytes is { } total) bar.MaxValue = Math.Max(total, 1);
                    bar.Value = p.BytesTransferred;
                }));
                bar.Value = bar.MaxValue;
            });
    }

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
