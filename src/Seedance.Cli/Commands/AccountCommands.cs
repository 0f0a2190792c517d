using System.CommandLine;
using Seedance.Client;
using Spectre.Console;

namespace Seedance.Cli.Commands;

/// <summary><c>login</c>, <c>balance</c>, <c>models</c>, <c>quote</c> and <c>upload</c>.</summary>
public static class AccountCommands
{
    public static IEnumerable<Command> Create(CliContext context)
    {
        yield return Login(context);
        yield return Balance(context);
        yield return Models(context);
        yield return Quote(context);
        yield return Upload(context);
    }

    private static Command Login(CliContext context)
    {
        var apiKey = new Option<string?>("--api-key") { Description = "The API key (asked for when omitted at a terminal)" };
        var baseUrl = new Option<string?>("--base-url") { Description = "The server (default https://api.seedance2.movie)" };
        var command = new Command("login",
            "Check an API key against the server and store it, with the server's URL, in your config directory (readable only by you).\n" +
            "SEEDANCE_API_KEY and SEEDANCE_BASE_URL, when set, take precedence.\n\n" +
            "Examples:\n  seedance login\n  seedance login --api-key sk-sd2-... --base-url http://localhost:8080") { apiKey, baseUrl };
        command.SetAction(async parse =>
        {
            var key = parse.GetValue(apiKey);
            if (key is null)
            {
                if (!context.Interactive) throw new CliException("No terminal to ask for the key: pass --api-key", ExitCodes.UserError);
                key = await context.Console.PromptAsync(new TextPrompt<string>("API key:").Secret(), context.Interrupted);
            }
            var url = CliConfig.ParseUrl(parse.GetValue(baseUrl)) ?? CliConfig.Load(context).BaseUrl;
            using var client = new SeedanceClient(new SeedanceClientOptions { ApiKey = key.Trim(), BaseUrl = url });
            var balance = await client.GetBalanceAsync(context.Interrupted);
            CliConfig.Save(context, key.Trim(), url);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, new { base_url = url, config_file = CliConfig.FilePath(context), balance });
            else context.Out.WriteLine($"Logged in to {url} ({Output.Credits(balance.RemainCredits)} credits left). Saved to {CliConfig.FilePath(context)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Balance(CliContext context)
    {
        var command = new Command("balance", "Show your credits.\n\nExample:\n  seedance balance --json");
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var balance = await client.GetBalanceAsync(context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, balance);
            else
                context.Out.WriteLine($"{Output.Credits(balance.RemainCredits)} credits left (total {Output.Credits(balance.TotalCredits)}, used {Output.Credits(balance.UsedCredits)}" +
                    (balance.ReservedCredits is { } reserved ? $", reserved {Output.Credits(reserved)})" : ")"));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Models(CliContext context)
    {
        var command = new Command("models", "Show the models the server offers, with their prices in credits per second.\n\nExample:\n  seedance models");
        command.SetAction(async parse =>
        {
            using var client = CliConfig.Load(context).Client();
            var models = await client.GetModelsAsync(context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, models);
            else
                foreach (var m in models)
                    context.Out.WriteLine($"{m.Model}{(m.Default ? " (default)" : "")}: " +
                        string.Join(", ", m.Resolutions.Select(r => $"{r} {Output.Price(m.Prices[r.Name])}/s")) +
                        $"; {m.Duration.Min}-{m.Duration.Max} s (default {m.Duration.Default}); ratios {string.Join(" ", m.Ratios)}; audio {(m.Audio ? "yes" : "no")}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Quote(CliContext context)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the video shows" };
        var model = new Option<string?>("--model") { Description = "Model (default: the server's)" };
        var resolution = new Option<string?>("--resolution") { Description = "Resolution (default: the model's)" };
        var ratio = new Option<string?>("--ratio") { Description = "Aspect ratio (default: the model's)" };
        var duration = new Option<int?>("--duration") { Description = "Length in seconds (default: the model's)" };
        GenerateCommand.Shaped(resolution, GenerateCommand.ResolutionShape, "a resolution is written like 720p");
        GenerateCommand.Shaped(ratio, GenerateCommand.RatioShape, "a ratio is written like 16:9");
        var sound = new Option<bool>("--sound") { Description = "Generate an audio track" };
        var command = new Command("quote",
            "Ask the server what a video would cost and whether your credits cover it; nothing is submitted or reserved.\n\n" +
            "Example:\n  seedance quote \"A fox in snow\" --model seedance-2.0-fast --resolution 1080p --duration 6")
        {
            prompt, model, resolution, ratio, duration, sound,
        };
        command.SetAction(async parse =>
        {
            var request = new VideoGenerationRequest(parse.GetValue(prompt)!)
            {
                Model = parse.GetValue(model) is { } m ? new VideoModel(m.ToLowerInvariant()) : null,
                Resolution = parse.GetValue(resolution) is { } r ? new VideoResolution(r.ToLowerInvariant()) : null,
                Ratio = parse.GetValue(ratio) is { } a ? new AspectRatio(a) : null,
                Duration = parse.GetValue(duration),
                GenerateAudio = parse.GetValue(sound) ? true : null,
            };
            using var client = CliConfig.Load(context).Client();
            var quote = await client.QuoteAsync(request, context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, quote);
            else
                context.Out.WriteLine($"{quote.Model} {quote.Resolution} {quote.Duration} s: {Output.Credits(quote.CreditCost)} credits; " +
                    $"{Output.Credits(quote.RemainCredits)} left{(quote.Affordable ? "" : " (not enough)")}");
            return quote.Affordable ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    private static Command Upload(CliContext context)
    {
        var files = new Argument<string[]>("files") { Description = "PNG, JPEG, WebP, MP4, MOV or WebM files", Arity = ArgumentArity.OneOrMore };
        var command = new Command("upload", "Upload reference files; prints the file_path of each, to use with generate --image/--video.\n\nExample:\n  seedance upload character.png scene.mp4")
        {
            files,
        };
        command.SetAction(async parse =>
        {
            var paths = parse.GetValue(files)!;
            foreach (var path in paths)
                if (!File.Exists(path)) throw new CliException($"{path}: no such file", ExitCodes.UserError);
            using var client = CliConfig.Load(context).Client();
            var uploaded = new List<UploadedFile>();
            foreach (var path in paths) uploaded.Add(await Progress.UploadAsync(context, client, path, context.Interrupted));
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, uploaded);
            else foreach (var file in uploaded) context.Out.WriteLine(file.FilePath);
            return ExitCodes.Ok;
        });
        return command;
    }
}
