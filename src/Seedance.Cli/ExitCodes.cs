using Seedance.Client;

namespace Seedance.Cli;

/// <summary>What the exit code of <c>seedance</c> tells a script.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;
    /// <summary>A failure: the server, the connection, or a task that failed, was cancelled or expired.</summary>
    public const int Failure = 1;
    /// <summary>The command was wrong: a bad option or value, no configuration, a wrong key, an unknown task.</summary>
    public const int UserError = 2;
    /// <summary>Refused: not enough credit, a limit reached, content refused by moderation, a cancel not allowed.</summary>
    public const int Refused = 3;
    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Interrupted = 130;

    /// <summary>The exit code for an error code of the API document (or the client's own).</summary>
    public static int For(string code) => code switch
    {
        SeedanceErrorCodes.InvalidParameter or SeedanceErrorCodes.MissingParameter or SeedanceErrorCodes.InvalidApiKey
            or SeedanceErrorCodes.TaskNotFound or SeedanceErrorCodes.InvalidAdminToken or SeedanceErrorCodes.KeyNotFound => UserError,
        SeedanceErrorCodes.InsufficientCredit or SeedanceErrorCodes.ConcurrencyLimitReached or SeedanceErrorCodes.RateLimitExceeded
            or SeedanceErrorCodes.ContentModerationFailed or SeedanceErrorCodes.CopyrightViolation or SeedanceErrorCodes.PrivacyViolation
            or SeedanceErrorCodes.TaskCancelNotAllowed => Refused,
        _ => Failure,
    };

    /// <summary>The help text's table of exit codes.</summary>
    public const string Help = "Exit codes: 0 done; 1 failure (server, connection, task failed); 2 user error (options, configuration, key, unknown task); 3 refused (credit, limits, moderation, cancel not allowed); 130 interrupted.";
}
