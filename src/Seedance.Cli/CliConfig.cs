using System.Text.Json;
using Seedance.Client;

namespace Seedance.Cli;

/// <summary>
/// Where the API key and base URL come from: <c>SEEDANCE_API_KEY</c> / <c>SEEDANCE_BASE_URL</c>, else the file
/// <c>seedance login</c> wrote (<c>&lt;config dir&gt;/seedance/config.json</c>, mode 0600).
/// </summary>
public sealed record CliConfig(string? ApiKey, Uri BaseUrl, string? AdminToken)
{
    public const string HowToConfigure =
        "No API key configured. Run `seedance login`, or set SEEDANCE_API_KEY (and SEEDANCE_BASE_URL for a server other than https://api.seedance2.movie).";

    private sealed record Stored(string? ApiKey, string? BaseUrl);

    public static string FilePath(CliContext context) => Path.Combine(context.ConfigDirectory, "seedance", "config.json");

    public static CliConfig Load(CliContext context)
    {
        Stored? stored = null;
        var file = FilePath(context);
        if (File.Exists(file))
        {
            try { stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(file), Output.Json); }
            catch (JsonException e) { throw new CliException($"{file} cannot be read ({e.Message}); run `seedance login` again", ExitCodes.UserError); }
        }
        var apiKey = Blank(context.Environment("SEEDANCE_API_KEY")) ?? stored?.ApiKey;
        var baseUrl = Blank(context.Environment("SEEDANCE_BASE_URL")) ?? stored?.BaseUrl;
        return new CliConfig(apiKey, ParseUrl(baseUrl) ?? SeedanceClientOptions.DefaultBaseUrl, Blank(context.Environment("SEEDANCE_ADMIN_TOKEN")));
    }

    public static Uri? ParseUrl(string? text)
    {
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new CliException($"The base URL '{text}' is not an http or https URL", ExitCodes.UserError);
        return url;
    }

    public static void Save(CliContext context, string apiKey, Uri baseUrl)
    {
        var file = FilePath(context);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(file, options))
            JsonSerializer.Serialize(stream, new Stored(apiKey, baseUrl.AbsoluteUri), Output.Json);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite); // also when it existed before
    }

    public SeedanceClient Client()
    {
        if (ApiKey is null) throw new CliException(HowToConfigure, ExitCodes.UserError);
        return new SeedanceClient(new SeedanceClientOptions { ApiKey = ApiKey, BaseUrl = BaseUrl });
    }

    public SeedanceAdminClient AdminClient(string? token)
    {
        token ??= AdminToken ?? throw new CliException(
            "No admin token. Set SEEDANCE_ADMIN_TOKEN or pass --admin-token (the server prints it on first start, or reads Seedance__AdminToken).", ExitCodes.UserError);
        return new SeedanceAdminClient(new SeedanceClientOptions { AdminToken = token, BaseUrl = BaseUrl });
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>A failure of the command line itself, with its exit code.</summary>
public sealed class CliException(string message, int exitCode, string? code = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public string? Code { get; } = code;
}
