using Microsoft.EntityFrameworkCore;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

public enum ChannelRemoval { Removed, NotFound, InUse }

/// <summary>The channels kept in the database: created, changed (guarded by the version read), removed when idle, sealed again after a key rotation.</summary>
public sealed class ChannelStore(DatabaseWriter writer, SecretBox secrets) : Store(writer)
{
    /// <summary>False when a channel of that name exists already.</summary>
    public Task<bool> CreateAsync(ChannelOptions options, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            if (await db.Channels.AnyAsync(c => c.Name == options.Name, token)) return false;
            var channel = new StoredChannel { Name = options.Name, Provider = options.Provider, Version = 1, CreatedAt = now, UpdatedAt = now };
            channel.Apply(options, secrets);
            db.Channels.Add(channel);
            await db.SaveChangesAsync(token);
            return true;
        }, ct);

    /// <summary>Stores <paramref name="options"/> if the channel is still at <paramref name="version"/>; false when it changed meanwhile or is gone.</summary>
    public Task<bool> UpdateAsync(ChannelOptions options, long version, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var channel = await db.Channels.FirstOrDefaultAsync(c => c.Name == options.Name && c.Version == version, token);
            if (channel is null) return false;
            channel.Apply(options, secrets);
            channel.Version = version + 1;
            channel.UpdatedAt = now;
            await db.SaveChangesAsync(token);
            return true;
        }, ct);

    /// <summary>
    /// Removes the channel unless a task is queued or processing there (its tracking needs the channel). The channel's
    /// row is locked first: a hand-over to it that is committing (<see cref="TaskStore.QueueAsync"/> holds the row shared)
    /// finishes before the tasks are looked at, and one that comes later finds the channel gone.
    /// </summary>
    public Task<ChannelRemoval> RemoveAsync(string name, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            if (!await HoldIn(db, Dialect, name, exclusive: true, token)) return ChannelRemoval.NotFound;
            if (await db.Tasks.AnyAsync(t => t.ChannelName == name && VideoTaskStatus.Active.Contains(t.Status), token)) return ChannelRemoval.InUse;
            return await db.Channels.Where(c => c.Name == name).ExecuteDeleteAsync(token) == 1 ? ChannelRemoval.Removed : ChannelRemoval.NotFound;
        }, ct);

    /// <summary>
    /// Holds the stored channel's row to the end of the transaction (alone, or shared with other holders) where the database
    /// has row locks; false when no channel of that name is stored.
    /// </summary>
    internal static async Task<bool> HoldIn(SeedanceDb db, SqlDialect dialect, string name, bool exclusive, CancellationToken ct)
    {
        var hold = $"SELECT 1 AS \"Value\" FROM upstream_channels WHERE name = {{0}}{(exclusive ? dialect.LockExclusive : dialect.LockShared)}";
        return (await db.Database.SqlQueryRaw<int>(hold, name).ToListAsync(ct)).Count > 0;
    }

    /// <summary>Seals every key that is not sealed with the current <c>Seedance:SecretsKey</c> again with it; returns how many.</summary>
    public Task<int> ResealAsync(DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var stale = (await db.Channels.Where(c => c.ApiKeySealed != null).ToListAsync(token)).Where(c => !secrets.IsCurrent(c.ApiKeySealed!)).ToList();
            foreach (var channel in stale)
            {
                channel.ApiKeySealed = secrets.Seal(secrets.Open(channel.ApiKeySealed!, channel.Name), channel.Name);
                channel.Version++;
                channel.UpdatedAt = now;
            }
            await db.SaveChangesAsync(token);
            return stale.Count;
        }, ct);
}
