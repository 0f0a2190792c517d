using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Seedance.Server.Data;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The persistence boundary alone, without a server or HTTP: the stores over a real database (a SQLite file, or a
/// fresh PostgreSQL database on the second pass), a fake clock, and a record of the task events published after commit.
/// A second host on the same database (<paramref name="sameDatabaseAs"/>) plays another node.
/// </summary>
public sealed class StoreHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _dataDir;
    private readonly bool _ownsDatabase;
    private readonly Recorder _recorder;

    private StoreHost(IHost host, string dataDir, bool ownsDatabase, FakeTimeProvider clock, Recorder recorder)
    {
        _host = host;
        _dataDir = dataDir;
        _ownsDatabase = ownsDatabase;
        Clock = clock;
        _recorder = recorder;
    }

    public FakeTimeProvider Clock { get; }
    public DateTime Now => Clock.GetUtcNow().UtcDateTime;

    /// <summary>The task changes published so far, in order.</summary>
    public IReadOnlyList<TaskChanged> Published
    {
        get { lock (_recorder.Changes) return [.. _recorder.Changes]; }
    }

    public T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    /// <param name="postgres">On PostgreSQL, changes to the connection string (its pool size, say); not applied on SQLite.</param>
    public static async Task<StoreHost> StartAsync(
        string nodeId = "node-a", StoreHost? sameDatabaseAs = null, Dictionary<string, string?>? settings = null,
        Action<Npgsql.NpgsqlConnectionStringBuilder>? postgres = null)
    {
        var dataDir = sameDatabaseAs?._dataDir ?? TempDir.Create();
        var clock = sameDatabaseAs?.Clock ?? new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
        var recorder = new Recorder();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Seedance:DataDir"] = dataDir, ["Seedance:AdminToken"] = RunningServer.AdminToken, ["Seedance:Node:Id"] = nodeId,
        });
        builder.Configuration.AddInMemoryCollection((await TestDatabase.SettingsAsync(dataDir)).ToDictionary(kv => kv.Key, kv => (string?)kv.Value));
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        if (postgres is not null && builder.Configuration["Seedance:Database:Provider"] == "postgres")
        {
            var connection = new Npgsql.NpgsqlConnectionStringBuilder(builder.Configuration["ConnectionStrings:Seedance"]);
            postgres(connection);
            builder.Configuration["ConnectionStrings:Seedance"] = connection.ConnectionString;
        }
        builder.Services.AddSeedanceCore(builder.Configuration);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton<ITaskObserver>(recorder);
        var host = builder.Build();
        await DatabaseSetup.MigrateAsync(host.Services);
        return new StoreHost(host, dataDir, sameDatabaseAs is null, clock, recorder);
    }

    /// <summary>Reads with a context as the server's endpoints read.</summary>
    public async Task<T> ReadAsync<T>(Func<SeedanceDb, Task<T>> read)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<SeedanceDb>());
    }

    public async ValueTask DisposeAsync()
    {
        await ((IAsyncDisposable)_host).DisposeAsync();
        if (_ownsDatabase) TempDir.Delete(_dataDir);
    }

    private sealed class Recorder : ITaskObserver
    {
        public List<TaskChanged> Changes { get; } = [];

        public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
        {
            lock (Changes) Changes.Add(change);
            return ValueTask.CompletedTask;
        }
    }
}
