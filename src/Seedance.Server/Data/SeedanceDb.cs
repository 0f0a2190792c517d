using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Seedance.Server.Data;

/// <summary>
/// The one DbContext; <see cref="SqliteSeedanceDb"/> and <see cref="PostgresSeedanceDb"/> carry each provider's migrations.
/// Column and index names are snake_case by <c>EFCore.NamingConventions</c>; the primary and foreign keys keep the
/// names the first migration gave them, so the schema is unchanged.
/// A context taken from the service provider reads only (<see cref="ReadOnlyGuard"/>); the writable ones are the
/// <see cref="DatabaseWriter"/>'s.
/// </summary>
public abstract class SeedanceDb(DbContextOptions options) : DbContext(options)
{
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<VideoTask> Tasks => Set<VideoTask>();
    public DbSet<LedgerEntry> Ledger => Set<LedgerEntry>();
    public DbSet<UploadedFile> Uploads => Set<UploadedFile>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<WebhookAttempt> WebhookAttempts => Set<WebhookAttempt>();
    public DbSet<StoredChannel> Channels => Set<StoredChannel>();
    /// <summary>On SQLite the log is kept in a file of its own (<see cref="RequestLogStore"/>): this table of the main file stays empty there.</summary>
    public DbSet<RequestLogEntry> RequestLog => Set<RequestLogEntry>();

    /// <summary>Credits are stored as whole hundredths, so sums and comparisons in SQL are exact integers.</summary>
    private static readonly ValueConverter<decimal, long> CreditsInHundredths =
        new(v => (long)(v * 100m), v => v / 100m);

    /// <summary>Prices per second are stored as whole ten-thousandths of a credit (they have at most four decimals).</summary>
    private static readonly ValueConverter<decimal, long> PriceInTenThousandths =
        new(v => (long)(v * 10_000m), v => v / 10_000m);

    private static readonly ValueConverter<DateTime, DateTime> Utc =
        new(v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.HasKey(k => k.Id).HasName("PK_api_keys");
            e.HasIndex(k => k.KeyHash).IsUnique();
            e.HasIndex(k => k.AuthChangedAt);
            e.Property(k => k.Name).HasMaxLength(200);
            e.Property(k => k.KeyPrefix).HasMaxLength(32);
            e.Ignore(k => k.RemainCredits);
            e.Property(k => k.WebhookSecret).HasMaxLength(64);
            e.Property(k => k.PreviousWebhookSecret).HasMaxLength(64);
            e.Property(k => k.PricePlan).HasMaxLength(64);
            foreach (var counted in new[] { nameof(ApiKey.TasksPending), nameof(ApiKey.TasksQueued), nameof(ApiKey.TasksProcessing),
                         nameof(ApiKey.TasksCompleted), nameof(ApiKey.TasksFailed), nameof(ApiKey.TasksCancelled), nameof(ApiKey.TasksExpired) })
            {
                // The database's triggers keep these; a key saved by the application must never write them back.
                var property = e.Property<int>(counted).HasDefaultValue(0).Metadata;
                property.SetBeforeSaveBehavior(PropertySaveBehavior.Ignore);
                property.SetAfterSaveBehavior(PropertySaveBehavior.Ignore);
            }
        });
        model.Entity<VideoTask>(e =>
        {
            e.ToTable("video_tasks");
            e.HasKey(t => t.Seq).HasName("PK_video_tasks");
            e.HasIndex(t => t.TaskId).IsUnique();
            e.HasIndex(t => new { t.KeyId, t.Seq });
            e.HasIndex(t => new { t.KeyId, t.Status, t.Seq });
            e.HasIndex(t => new { t.Status, t.KeyId, t.Seq });
            e.HasIndex(t => new { t.Status, t.ExpiresAt });
            e.HasIndex(t => t.LeaseOwner);
            // The console's and the usage report's reads over months of tasks: by time of submission (all keys, and one key's),
            // and the tasks that ended, by status and time of ending, with the columns the overview reads of them (time to complete,
            // seconds of video), so that a day's ends are read from the index alone. Only ended tasks are in the last: a submission
            // and the moves of a task in flight do not write it, which every index on this table would cost them.
            e.HasIndex(t => t.CreatedAt);
            e.HasIndex(t => new { t.KeyId, t.CreatedAt });
            e.HasIndex(t => new { t.Status, t.FinishedAt, t.CreatedAt, t.Duration }).HasFilter("finished_at IS NOT NULL").HasDatabaseName("ix_video_tasks_ended");
            // Retention: finished tasks that still have result files, oldest first. Only a task with a video is in it.
            e.HasIndex(t => t.UpdatedAt).HasFilter("video_file IS NOT NULL").HasDatabaseName("ix_video_tasks_results_updated_at");
            e.Property(t => t.TaskId).HasMaxLength(32);
            e.Property(t => t.LeaseOwner).HasMaxLength(64);
            e.Property(t => t.Status).HasMaxLength(16);
            e.Property(t => t.CallbackUrl).HasMaxLength(512);
        });
        model.Entity<LedgerEntry>(e =>
        {
            e.ToTable("credit_ledger");
            e.HasKey(l => l.Id).HasName("PK_credit_ledger");
            e.HasIndex(l => new { l.KeyId, l.Id });
            e.HasIndex(l => l.TaskId);
            // The captures of a period, of all keys or of one (usage reports, the console's overview and chart), from the index
            // alone. Captures only: the reservation a submission writes stays out of it. The kind is a column of it all the same:
            // SQLite reads a column the query names from the table unless the index holds it, even one its condition fixes.
            e.HasIndex(l => new { l.Kind, l.CreatedAt, l.KeyId, l.Amount }).HasFilter("kind = 'capture'").HasDatabaseName("ix_credit_ledger_captures");
        });
        model.Entity<UploadedFile>(e =>
        {
            e.ToTable("uploaded_files");
            e.HasKey(f => f.Id).HasName("PK_uploaded_files");
            e.HasIndex(f => f.FilePath).IsUnique();
        });
        model.Entity<IdempotencyRecord>(e =>
        {
            e.ToTable("idempotency_records");
            e.HasKey(r => new { r.KeyId, r.IdempotencyKey }).HasName("PK_idempotency_records");
            e.HasIndex(r => r.CreatedAt);
        });
        model.Entity<WebhookDelivery>(e =>
        {
            e.ToTable("webhook_deliveries");
            e.HasKey(d => d.Id).HasName("PK_webhook_deliveries");
            e.HasIndex(d => new { d.Status, d.NextAttemptAt });
            e.HasIndex(d => new { d.TaskId, d.Id });
            e.HasIndex(d => d.LeaseOwner);
            e.Property(d => d.LeaseOwner).HasMaxLength(64);
            e.Property(d => d.WebhookId).HasMaxLength(40);
            e.Property(d => d.TaskId).HasMaxLength(32);
            e.Property(d => d.Url).HasMaxLength(512);
            e.Property(d => d.Status).HasMaxLength(16);
            e.Property(d => d.LastError).HasMaxLength(500);
        });
        model.Entity<WebhookAttempt>(e =>
        {
            e.ToTable("webhook_attempts");
            e.HasKey(a => a.Id).HasName("PK_webhook_attempts");
            e.HasIndex(a => new { a.DeliveryId, a.Number });
            e.HasOne<WebhookDelivery>().WithMany().HasForeignKey(a => a.DeliveryId).OnDelete(DeleteBehavior.Cascade)
                .HasConstraintName("FK_webhook_attempts_webhook_deliveries_delivery_id");
            e.Property(a => a.Error).HasMaxLength(500);
        });
        model.Entity<StoredChannel>(e =>
        {
            e.ToTable("upstream_channels");
            e.HasKey(c => c.Name).HasName("PK_upstream_channels");
            e.Property(c => c.Name).HasMaxLength(64);
            e.Property(c => c.Provider).HasMaxLength(16);
            e.Property(c => c.BaseUrl).HasMaxLength(500);
            e.Property(c => c.ApiKeySealed).HasMaxLength(2000);
            e.Property(c => c.ApiKeyPrefix).HasMaxLength(16);
        });
        model.Entity<RequestLogEntry>(e =>
        {
            e.ToTable("request_log");
            e.HasKey(r => r.Id).HasName("PK_request_log");
            e.HasIndex(r => new { r.KeyId, r.Id });
            e.HasIndex(r => r.At);
            e.Property(r => r.Method).HasMaxLength(16);
            e.Property(r => r.Route).HasMaxLength(200);
            e.Property(r => r.Path).HasMaxLength(RequestLogLimits.Path);
            e.Property(r => r.Code).HasMaxLength(64);
            e.Property(r => r.RequestId).HasMaxLength(64);
        });

        foreach (var property in model.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.ClrType == typeof(decimal)) property.SetValueConverter(CreditsInHundredths);
            if (property.ClrType == typeof(decimal?))
                property.SetValueConverter(property.Name == nameof(VideoTask.PricePerSecond) ? PriceInTenThousandths : CreditsInHundredths);
            if (property.ClrType == typeof(DateTime) || property.ClrType == typeof(DateTime?)) property.SetValueConverter(Utc);
        }
    }
}

public sealed class SqliteSeedanceDb(DbContextOptions<SqliteSeedanceDb> options) : SeedanceDb(options);

public sealed class PostgresSeedanceDb(DbContextOptions<PostgresSeedanceDb> options) : SeedanceDb(options);
