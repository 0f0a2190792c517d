using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>Upload slots and the files that land in them. A file referenced by a task never changes again.</summary>
public sealed class UploadStore(DatabaseWriter writer) : Store(writer)
{
    /// <summary>A presigned slot, before any byte arrives.</summary>
    public Task CreateSlotAsync(UploadedFile slot, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            db.Uploads.Add(slot);
            return await db.SaveChangesAsync(token);
        }, ct);

    /// <summary>
    /// Records a file that landed, and runs <paramref name="moveIntoPlace"/> while the transaction holds the slot's
    /// row: a submission that references the file waits for the commit, so a referenced file never changes under a
    /// task. False, with nothing moved, when a task references the file already.
    /// </summary>
    public Task<bool> LandAsync(long slotId, long size, DateTime now, Action moveIntoPlace, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var rows = await db.Uploads.Where(f => f.Id == slotId && f.ReferencedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(f => f.Size, size).SetProperty(f => f.UploadedAt, now), token);
            if (rows == 0) return false;
            moveIntoPlace();
            return true;
        }, ct);

    /// <summary>A file that went straight to the store (S3) and passed its checks when a task first referenced it.</summary>
    public Task RecordCheckedAsync(long slotId, long size, DateTime uploadedAt, CancellationToken ct) =>
        WriteAsync((db, token) => db.Uploads.Where(f => f.Id == slotId && f.ReferencedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.Size, size).SetProperty(f => f.UploadedAt, uploadedAt), token), ct);

    /// <summary>Unused slots whose presigned URL expired at or before <paramref name="expiredBy"/> without a file being taken in, oldest first.</summary>
    public Task<List<UploadedFile>> UnusedAsync(SeedanceDb reads, DateTime expiredBy, int limit, CancellationToken ct) =>
        Unused(reads, expiredBy).OrderBy(f => f.Id).Take(limit).AsNoTracking().ToListAsync(ct);

    /// <summary>Forgets unused slots expired by <paramref name="expiredBy"/>: those of <paramref name="ids"/>, or all of them when null; returns how many.</summary>
    public Task<int> ForgetUnusedAsync(long[]? ids, DateTime expiredBy, CancellationToken ct) =>
        WriteAsync((db, token) => (ids is null ? Unused(db, expiredBy) : Unused(db, expiredBy).Where(f => ids.Contains(f.Id))).ExecuteDeleteAsync(token), ct);

    private static IQueryable<UploadedFile> Unused(SeedanceDb db, DateTime expiredBy) =>
        db.Uploads.Where(f => f.UploadedAt == null && f.ReferencedAt == null && f.ExpiresAt <= expiredBy);

    /// <summary>Locks the key's uploads a new task references: from now on they never change.</summary>
    internal static Task ReferenceIn(SeedanceDb db, long keyId, IReadOnlyCollection<string> paths, DateTime now, CancellationToken ct) =>
        db.Uploads.Where(f => f.KeyId == keyId && paths.Contains(f.FilePath) && f.ReferencedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.ReferencedAt, now), ct);
}
