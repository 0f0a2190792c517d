using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using System.Text;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// Every line an in-process server logs, with its exception and scopes, as an operator's log would hold it: the provider
/// takes the levels of the shipped appsettings.json (<see cref="Settings"/>), whatever the console of the tests is set to.
/// Every server under test has one (scanned for secrets when it stops); a test that reads what was logged passes
/// <see cref="Register"/> as the server's <c>services</c>.
/// </summary>
[ProviderAlias("SecretScan")]
public sealed class CapturedLog : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<(LogLevel Level, string Line)> _lines = new();
    private IExternalScopeProvider? _scopes;

    /// <summary>The levels of appsettings.json for this provider alone (the console of the tests stays at Warning).</summary>
    public static readonly Dictionary<string, string> Settings = new()
    {
        ["Logging:SecretScan:LogLevel:Default"] = "Information",
        ["Logging:SecretScan:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:SecretScan:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        ["Logging:SecretScan:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
        ["Logging:SecretScan:LogLevel:Microsoft.EntityFrameworkCore.Update"] = "Critical",
        ["Logging:SecretScan:LogLevel:Microsoft.EntityFrameworkCore.Database.Command"] = "Critical",
    };

    public IReadOnlyCollection<string> Lines => _lines.Select(l => l.Line).ToList();

    public void Register(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    /// <summary>The lines of at least <paramref name="level"/> that contain <paramref name="text"/>.</summary>
    public List<string> Containing(string text, LogLevel level = LogLevel.Trace) =>
        _lines.Where(l => l.Level >= level && l.Line.Contains(text, StringComparison.Ordinal)).Select(l => l.Line).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(CapturedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => log._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
            if (exception is not null) line.Append(' ').Append(exception);
            log._scopes?.ForEachScope((scope, b) => b.Append(" => ").Append(scope), line);
            log._lines.Enqueue((logLevel, line.ToString()));
        }
    }
}
