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
/// transactions there wait on row locks, not on the whole database. The writes of one API key that lock its row
/// (<see cref="RunForKeyAsync"/>) queue in a lane of that key instead and commit in batches as above: a burst on one
/// key then takes one pooled connection and one commit per batch, where it would hold a connection per request, each
/// waiting on the key's row, and starve every other key of the pool. A batch that fails (a deadlock with another
/// node, say) runs again item by item, each in a transaction of its own.
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
    /// <summary>PostgreSQL: the queued writes of each key with a lane running, and that lane's loop. Guarded by itself.</summary>
    private readonly Dictionary<long, KeyLane> _keyLanes = new();
    private bool _lanesClosed;

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

    /// <summary>
    /// Runs <paramref name="work"/>, which locks the row of API key <paramref name="keyId"/>, as <see cref="RunAsync{T}"/>
    /// does; on PostgreSQL in the key's lane, batched with the key's other such writes.
    /// </summary>
    internal Task<T> RunForKeyAsync<T>(long keyId, Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct) =>
        _dialect.SingleWriter ? RunAsync(work, ct) : RunInKeyLaneAsync(keyId, work, ct);

    private async Task<T> RunInKeyLaneAsync<T>(long keyId, Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        var item = new Item(async (db, token) => await work(db, token), ct);
        lock (_keyLanes)
        {
            if (_lanesClosed) throw new InvalidOperationException("The server is stopping");
            if (!_keyLanes.TryGetValue(keyId, out var lane))
            {
                _keyLanes[keyId] = lane = new KeyLane();
                // The lane serves every caller of the key: it must not carry the first one's trace activity and log scopes.
                using (ExecutionContext.SuppressFlow()) lane.Loop = Task.Run(() => KeyLaneAsync(keyId, lane));
            }
            lane.Items.Enqueue(item);
        }
        return (T)(await item.Done.Task)!;
    }

    /// <summary>A key's lane: takes up to a batch of its queued writes at a time, and ends (leaving the map) when none are left.</summary>
    private async Task KeyLaneAsync(long keyId, KeyLane lane)
    {
        var batch = new List<Item>(MaxBatch);
        while (true)
        {
            batch.Clear();
            lock (_keyLanes)
            {
                while (batch.Count < MaxBatch && lane.Items.TryDequeue(out var item))
                    if (item.Cancellation.IsCancellationRequested) item.Done.TrySetCanceled(item.Cancellation);
                    else batch.Add(item);
                if (batch.Count == 0 && lane.Items.Count == 0)
                {
                    _keyLanes.Remove(keyId);
                    return;
                }
            }
            if (batch.Count == 0) continue;
            await using (var db = BatchContext())
                if (await RunBatchAsync(_ => Task.FromResult(db), batch, mayRunAgain: true, _stopping.Token) != Batch.RunAgainAlone) continue;
            // Failed before its commit: each again alone, so that one item (or a deadlock of the batch) costs no other its write.
            foreach (var item in batch)
            {
                if (_stopping.IsCancellationRequested) item.Done.TrySetException(new InvalidOperationException("The server is stopping"));
                else await using (var db = BatchContext()) await RunBatchAsync(_ => Task.FromResult(db), [item], mayRunAgain: false, _stopping.Token);
            }
        }
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
        Task[] lanes;
        lock (_keyLanes)
        {
            _lanesClosed = true;
            lanes = _keyLanes.Values.Select(l => l.Loop).OfType<Task>().ToArray();
        }
        await using var _ = cancellationToken.Register(_stopping.Cancel);
        await Task.WhenAll(lanes).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_loop is { } loop) await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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
                if (batch.Count > 0 && await RunBatchAsync(BatchContextAsync, batch, mayRunAgain: false, stoppingToken) == Batch.Failed)
                    await DropBatchContextAsync(); // the next batch starts on a new connection
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

    private enum Batch
    {
        /// <summary>Committed (an item that failed was rolled back alone); every item has its answer.</summary>
        Committed,
        /// <summary>Failed as a whole; every item has that failure as its answer.</summary>
        Failed,
        /// <summary>Failed before its commit was sent (nothing of it is written), and its items are not answered yet.</summary>
        RunAgainAlone,
    }

    /// <summary>
    /// Runs <paramref name="batch"/> in one transaction on the context <paramref name="context"/> gives, each item in a
    /// savepoint of its own (a lone item needs none: its failure rolls the transaction back), and answers each item once
    /// it committed. A batch of several that fails before its commit is left unanswered when <paramref name="mayRunAgain"/>;
    /// one that fails in its commit is never run again, as the commit may have happened.
    /// </summary>
    private async Task<Batch> RunBatchAsync(Func<CancellationToken, Task<SeedanceDb>> context, List<Item> batch, bool mayRunAgain, CancellationToken stoppingToken)
    {
        var outcomes = new (object? Result, Exception? Error)[batch.Count];
        var savepoints = batch.Count > 1;
        var committing = false;
        // The failure of an item being rolled back: if the rollback fails too (SQLite rolls the whole transaction back by
        // itself on a full disk, so there is nothing left to roll back), the callers hear of the cause, not of the rollback.
        Exception? cause = null;
        try
        {
            var db = await context(stoppingToken);
            await using var tx = await db.Database.BeginTransactionAsync(stoppingToken);
            for (var i = 0; i < batch.Count; i++)
            {
                if (savepoints) await PreparedCommands.ExecuteAsync(db, "SAVEPOINT item", stoppingToken);
                try
                {
                    outcomes[i] = (await batch[i].Work(db, stoppingToken), null);
                    if (savepoints) await PreparedCommands.ExecuteAsync(db, _dialect.EndBatchItem, stoppingToken);
                    db.ChangeTracker.Clear(); // what it saved is written: the next item's save need not look at it
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    db.ChangeTracker.Clear();
                    cause = e;
                    if (!savepoints)
                    {
                        await tx.RollbackAsync(stoppingToken);
                        batch[i].Done.TrySetException(e);
                        return Batch.Committed;
                    }
                    await PreparedCommands.ExecuteAsync(db, "ROLLBACK TO item", stoppingToken);
                    await PreparedCommands.ExecuteAsync(db, "RELEASE item", stoppingToken);
                    outcomes[i] = (null, e);
                    cause = null;
                }
            }
            committing = true;
            await tx.CommitAsync(stoppingToken);
        }
        catch (Exception failure)
        {
            var e = cause ?? failure;
            if (mayRunAgain && savepoints && !committing)
            {
                if (e is not OperationCanceledException) _logger.LogWarning(e, "A batch of {Count} writes failed; each runs again alone", batch.Count);
                return Batch.RunAgainAlone;
            }
            if (e is not OperationCanceledException) _logger.LogError(e, "A batch of {Count} writes failed to commit", batch.Count);
            foreach (var item in batch) item.Done.TrySetException(e);
            return Batch.Failed;
        }
        for (var i = 0; i < batch.Count; i++)
            if (outcomes[i].Error is { } error) batch[i].Done.TrySetException(error);
            else batch[i].Done.TrySetResult(outcomes[i].Result);
        return Batch.Committed;
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

    /// <summary>A context for one batch of a key's lane, its connection from the pool for the batch's transaction only.</summary>
    private SeedanceDb BatchContext()
    {
        var db = _contexts();
        db.Database.AutoSavepointsEnabled = false;
        return db;
    }

    private async Task DropBatchContextAsync()
    {
        if (_batchContext is { } db) await db.DisposeAsync();
        _batchContext = null;
    }

    private sealed class KeyLane
    {
        public Queue<Item> Items { get; } = new();
        public Task? Loop { get; set; }
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

    /// <summary>A write that locks the row of API key <paramref name="keyId"/>: on PostgreSQL it commits in a batch with that key's others.</summary>
    protected Task<T> WriteForKeyAsync<T>(long keyId, Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct) =>
        writer.RunForKeyAsync(keyId, work, ct);
}
