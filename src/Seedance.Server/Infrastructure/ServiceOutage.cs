namespace Seedance.Server.Infrastructure;

/// <summary>
/// Recognises a failure of a service this server depends on (its database, its file store, the disk under them): the
/// request is then answered 503 SERVICE_BUSY with <c>Retry-After</c>, as a client should retry it, and not as a 500.
/// Each such service registers one; <see cref="ErrorEnvelopeMiddleware"/> asks them about every failure it catches.
/// </summary>
public interface IServiceOutage
{
    /// <summary>What is unavailable, in the words of the answer (<c>the database is unavailable</c>); null when <paramref name="error"/> is not such a failure.</summary>
    string? Recognise(Exception error);
}

public static class ServiceOutages
{
    /// <summary>The first of <paramref name="outages"/> that recognises <paramref name="error"/> or one of its inner exceptions.</summary>
    public static string? Recognise(this IEnumerable<IServiceOutage> outages, Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
            foreach (var outage in outages)
                if (outage.Recognise(e) is { } what) return what;
        return null;
    }

    /// <summary>A write that found no space left on its device (ENOSPC on Unix; ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL on Windows).</summary>
    public static bool IsDiskFull(Exception error) =>
        error is IOException { HResult: 28 or unchecked((int)0x80070070) or unchecked((int)0x80070027) };
}
