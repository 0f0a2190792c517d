using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>
/// Runs short write transactions. On SQLite, which has one writer at a time, the writes of concurrent
/// requests queue here in the process and one loop runs them in batches, each in a savepoint of one shared
/// transaction, and commits the batch once: no request waits inside SQLite's busy handler (which sleeps
/// 1, 2, 5 ... 100 ms between tries) and a commit serves many requests. A work item that throws is rolled
/// back to its savepoint alone and its caller gets the exception; every caller gets its answer only once
/// its batch has committed, so an answer never describes a write that could still be lost.
/// On PostgreSQL each work item runs in a transaction of its own on the caller's context: concurrent
/// transactions there wait on row locks, not on the whole database.
/// </summary>
public sealed class GroupCommit(IServiceScopeFactory scopes, ILogger<GroupCommit> logger) : BackgroundService
{
    /// <summary>Work items committed together at most; enough to amortise the commit, small enough to bound a batch's latency.</summary>
    private const int MaxBatch = 32;

    private AsyncServiceScope? _writerScope;
    private SeedanceDb? _writer;

    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction and returns its result once that transaction committed.
    /// The work must use only the context it is given (on SQLite, the batch's context, not <paramref name="db"/>).
    /// </summary>
    public async Task<T> RunAsync<T>(SeedanceDb db, Func<SeedanceDb, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var result = await work(db, ct);
            await tx.CommitAsync(ct);
            return result;
        }
        var item = new Item(async (batchDb, token) => await work(batchDb, token), ct);
        if (!_queue.Writer.TryWrite(item)) throw new InvalidOperationException("The server is stopping");
        return (T)(await item.Done.Task)!;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
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
            await DropWriterAsync();
        }
    }

    private async Task RunBatchAsync(List<Item> batch, CancellationToken stoppingToken)
    {
        var outcomes = new (object? Result, Exception? Error)[batch.Count];
        try
        {
            var db = await WriterAsync(stoppingToken);
            await using var tx = await db.Database.BeginTransactionAsync(stoppingToken);
            for (var i = 0; i < batch.Count; i++)
            {
                await Statements.ExecuteAsync(db, "SAVEPOINT item", stoppingToken);
                try
                {
                    outcomes[i] = (await batch[i].Work(db, stoppingToken), null);
                    await Statements.ExecuteAsync(db, "RELEASE item", stoppingToken);
                    db.ChangeTracker.Clear(); // what it saved is written: the next item's save need not look at it
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    await Statements.ExecuteAsync(db, "ROLLBACK TO item", stoppingToken);
                    await Statements.ExecuteAsync(db, "RELEASE item", stoppingToken);
                    db.ChangeTracker.Clear();
                    outcomes[i] = (null, e);
                }
            }
            await tx.CommitAsync(stoppingToken);
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException) logger.LogError(e, "A batch of {Count} writes failed to commit", batch.Count);
            foreach (var item in batch) item.Done.TrySetException(e);
            await DropWriterAsync();
            return;
        }
        for (var i = 0; i < batch.Count; i++)
            if (outcomes[i].Error is { } error) batch[i].Done.TrySetException(error);
            else batch[i].Done.TrySetResult(outcomes[i].Result);
    }

    /// <summary>
    /// The loop's own context, kept with its connection open from batch to batch: the statements every
    /// submission runs stay prepared on it (<see cref="Statements"/>). A batch that fails starts the next on a new one.
    /// </summary>
    private async Task<SeedanceDb> WriterAsync(CancellationToken ct)
    {
        if (_writer is { } writer) return writer;
        _writerScope = scopes.CreateAsyncScope();
        writer = _writerScope.Value.ServiceProvider.GetRequiredService<SeedanceDb>();
        writer.Database.AutoSavepointsEnabled = false; // each item has its own savepoint already
        await writer.Database.OpenConnectionAsync(ct);
        return _writer = writer;
    }

    private async Task DropWriterAsync()
    {
        _writer = null;
        if (_writerScope is { } scope) await scope.DisposeAsync();
        _writerScope = null;
    }

    private sealed record Item(Func<SeedanceDb, CancellationToken, Task<object?>> Work, CancellationToken Cancellation)
    {
        public TaskCompletionSource<object?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
