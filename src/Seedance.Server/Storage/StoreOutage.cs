using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>The file store could not be reached, refused, or timed out (<see cref="S3FileStore"/>); the operation may succeed when retried.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>The file store away (an S3 store refusing or timing out) or the disk under local files full: requests answer 503 SERVICE_BUSY.</summary>
public sealed class StoreOutage : IServiceOutage
{
    public string? Recognise(Exception error) => error switch
    {
        StoreUnavailableException => "the file store is unavailable",
        _ when ServiceOutages.IsDiskFull(error) => "no space is left on the server's disk",
        _ => null,
    };

    /// <summary>Whether <paramref name="error"/> (or an exception inside it) is the store's failure, not its caller's.</summary>
    public static bool IsStoreFailure(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
            if (e is StoreUnavailableException || ServiceOutages.IsDiskFull(e)) return true;
        return false;
    }
}
