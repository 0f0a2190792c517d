namespace Seedance.Server.Tests.Support;

/// <summary>A server under test as its clients see it: in this process (<see cref="RunningServer"/>) or in a process of its own (<see cref="ServerProcess"/>).</summary>
public interface IServerNode : IAsyncDisposable
{
    string BaseUrl { get; }

    /// <summary>A client carrying the admin token.</summary>
    HttpClient Admin { get; }
}
