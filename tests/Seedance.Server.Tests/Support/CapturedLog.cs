using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Seedance.Server.Tests.Support;

/// <summary>What a server under test logs (each line with its exception, if any), kept to be read: pass <see cref="Register"/> as the server's <c>services</c>.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(string Category, LogLevel Level, string Message)> Lines => _lines.ToList();

    public void Register(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    /// <summary>The lines of at least <paramref name="level"/> that contain <paramref name="text"/>.</summary>
    public List<string> Containing(string text, LogLevel level = LogLevel.Trace) =>
        Lines.Where(l => l.Level >= level && l.Message.Contains(text, StringComparison.Ordinal)).Select(l => l.Message).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log._lines.Enqueue((category, logLevel, exception is null ? formatter(state, null) : $"{formatter(state, exception)} {exception}"));
    }
}
