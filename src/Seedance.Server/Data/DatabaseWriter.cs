using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>
/// The only holder of writable contexts, and the one way a write reaches the database: stores hand it their
/// work (<see cref="Store"/>), it runs the work in a transaction and answers once that transaction committed.
/// <para>
/// SQLite has one writer at a time. There the work of concurrent callers queues here in the process and one loop
/// runs it in batches, each item in a savepoint of one shared transaction, and commits the batch once (a group
/// commit): no caller waits inside SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between tries) and a
/// commit serves many callers. An item that throws is rolled back to its savepoint alone and its caller gets the
/// exception; every caller gets its answer only once its batch has committed, so an answer never describes a
/// write that could still be lost.
/// </para>
/// <para>
/// On PostgreSQL each item runs in a transaction of its own, on a writable context of its own: concurrent
/// transactions there wait on row locks, not on the whole database.
/// </para>
/// </summary>
public sealed class DatabaseWriter : IHostedService, IAsyncDisposable
{
    /// <summary>Work items committed together at most; enough to amortise the commit, small enough to bound a batch's latency.</summary>
    private const int MaxBatch = 32;

    private readonly SqlDialect _dialect;
    private readonly Func<SeedanceDb> _contexts;
    private readonly ILogger<DatabaseWriter> _logger;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startLock = new();
    private Task? _loop;
    private SeedanceDb? _batchContext;

    public DatabaseWriter(SqlDialect dialect, ILogger<DatabaseWriter> logger)
    {
        _dialect = dialect;
        _contexts = dialect.WritableContexts();
        _logger = logger;
    }

    public SqlDialect Dialect => _dialect;

    /// <summary>Runs <paramref name="work"/> in a transaction on a writable context; returns its result once the transaction committed.</summary>
    internal async Task<T> RunAsync<T>(Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (!_dialect.SingleWriter)
        {
            await using var db = _contexts();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var result = await work(db, ct);
            await tx.CommitAsync(ct);
            return result;
        }
        EnsureLoop();
        var item = new Item(async (batchDb, token) => await work(batchDb, token), ct);
        if (!_queue.Writer.TryWrite(item)) throw new InvalidOperationException("The server is stopping");
        return (T)(await item.Done.Task)!;
    }

    /// <summary>A writable context outside the writer's transactions, for tests that arrange rows the API cannot make. Server code writes through a store.</summary>
    internal SeedanceDb CreateWritableContextForTests() => _contexts();

    /// <summary>Prepares the database and applies the migrations, on a writable context.</summary>
    internal async Task MigrateAsync(CancellationToken ct)
    {
        await using var db = _contexts();
        await _dialect.PrepareAsync(db, ct);
        await db.Database.MigrateAsync(ct);
    }

    // The loop starts with the first write, so the command line and the start-up (before the host runs) write through it too.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Takes no more work, and lets the loop finish what was queued (stopped short when <paramref name="cancellationToken"/> fires).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_loop is not { } loop) return;
        await using var _ = cancellationToken.Register(_stopping.Cancel);
        await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // Disposed once per registration that hands it out (itself, and as a hosted service): stopping twice is harmless.
    public async ValueTask DisposeAsync() => await StopAsync(new CancellationToken(canceled: true));

    private void EnsureLoop()
    {
        if (_loop is not null) return;
        lock (_startLock)
        {
            if (_loop is not null) return;
            // The loop serves every caller: it must not carry the first one's trace activity and log scopes.
            using (ExecutionContext.SuppressFlow()) _loop = Task.Run(() => LoopAsync(_stopping.Token));
        }
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                    if (item.Cancellation.IsCancellationRequested) item.Done.TrySetCanceled(item.Cancellation);
                    else batch.Add(item);
                if (batch.Count > 0) await RunBatchAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left)) left.Done.TrySetException(new InvalidOperationException("The server is stopping"));
            await DropBatchContextAsync();
        }
    }

    private async Task RunBatchAsync(List<Item> batch, CancellationToken stoppingToken)
    {
        var outcomes = new (object? Result, Exception? Error)[batch.Count];
        try
        {
            var db = await BatchContextAsync(stoppingToken);
            await using var tx = await db.Database.BeginTransactionAsync(stoppingToken);
            for (var i = 0; i < batch.Count; i++)
            {
                await PreparedCommands.ExecuteAsync(db, "SAVEPOINT item", stoppingToken);
                try
                {
                    outcomes[i] = (await batch[i].Work(db, stoppingToken), null);
                    await PreparedCommands.ExecuteAsync(db, "RELEASE item", stoppingToken);
                    db.ChangeTracker.Clear(); // what it saved is written: the next item's save need not look at it
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    await PreparedCommands.ExecuteAsync(db, "ROLLBACK TO item", stoppingToken);
                    await PreparedCommands.ExecuteAsync(db, "RELEASE item", stoppingToken);
                    db.ChangeTracker.Clear();
                    outcomes[i] = (null, e);
                }
            }
            await tx.CommitAsync(stoppingToken);
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException) _logger.LogError(e, "A batch of {Count} writes failed to commit", batch.Count);
            foreach (var item in batch) item.Done.TrySetException(e);
            await DropBatchContextAsync();
            return;
        }
        for (var i = 0; i < batch.Count; i++)
            if (outcomes[i].Error is { } error) batch[i].Done.TrySetException(error);
            else batch[i].Done.TrySetResult(outcomes[i].Result);
    }

    /// <summary>
    /// The loop's own context, kept with its connection open from batch to batch: the statements every submission
    /// runs stay prepared on it (<see cref="PreparedCommands"/>). A batch that fails starts the next on a new one.
    /// </summary>
    private async Task<SeedanceDb> BatchContextAsync(CancellationToken ct)
    {
        if (_batchContext is { } db) return db;
        db = _contexts();
        db.Database.AutoSavepointsEnabled = false; // each item has its own savepoint already
        await db.Database.OpenConnectionAsync(ct);
        return _batchContext = db;
    }

    private async Task DropBatchContextAsync()
    {
        if (_batchContext is { } db) await db.DisposeAsync();
        _batchContext = null;
    }

    private sealed record Item(Func<SeedanceDb, CancellationToken, Task<object?>> Work, CancellationToken Cancellation)
    {
        public TaskCompletionSource<object?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>
/// A store: the one place that reads and writes its tables. Its writes run through the <see cref="DatabaseWriter"/>,
/// in a transaction (on SQLite, in the group commit), and only there can a writable context be had.
/// </summary>
public abstract class Store(DatabaseWriter writer)
{
    protected SqlDialect Dialect => writer.Dialect;

    protected Task<T> WriteAsync<T>(Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct) => writer.RunAsync(work, ct);
}
