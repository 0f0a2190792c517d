namespace Seedance.Server.Infrastructure;

/// <summary>The server's one meter: every instrument is made on it, through <c>IMeterFactory</c> (which hands out one instance per name).</summary>
public static class ServerMeter
{
    public const string Name = "Seedance.Server";
}
