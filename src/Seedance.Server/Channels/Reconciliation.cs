using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Providers.Ark;

namespace Seedance.Server.Channels;

/// <param name="Matched">Tasks both sides know.</param>
/// <param name="MissingUpstream">Our tasks, handed to this channel in the period, that the upstream's list does not hold.</param>
/// <param name="Orphans">The upstream's tasks of the period (of the models this channel maps) that are none of ours: a create whose answer was lost.</param>
/// <param name="UsageTokens">The upstream's usage tokens of the tasks in the report (matched and orphans).</param>
/// <param name="EstimatedCost">UsageTokens × CostPerMillionTokens / 1,000,000; null when the channel has no cost set.</param>
/// <param name="CreditsCharged">The ledger's captures of our tasks in the report (matched and missing).</param>
/// <param name="Margin">CreditsCharged − EstimatedCost.</param>
public sealed record ReconciliationReport(string Channel, DateTime From, DateTime To, int UpstreamTasks, int OurTasks, int Matched,
    IReadOnlyList<MissingUpstreamTask> MissingUpstream, IReadOnlyList<OrphanTask> Orphans, IReadOnlyList<StatusMismatch> StatusMismatches,
    long UsageTokens, decimal? CostPerMillionTokens, decimal? EstimatedCost, decimal CreditsCharged, decimal? Margin);

public sealed record MissingUpstreamTask(string TaskId, string UpstreamTaskId, string Status);

/// <param name="Cancelled">Whether this run cancelled it at the upstream (only a queued orphan, and only when asked).</param>
public sealed record OrphanTask(string UpstreamTaskId, string Model, string UpstreamStatus, DateTime CreatedAt, long Tokens, bool Cancelled);

/// <param name="Status">Ours.</param>
/// <param name="UpstreamStatus">The upstream's, in its own words (<c>running</c>, <c>succeeded</c> ...).</param>
public sealed record StatusMismatch(string TaskId, string UpstreamTaskId, string Status, string UpstreamStatus);

/// <summary>
/// Compares an Ark channel's own task list (the upstream keeps 7 days, listed in pages of 500) with the tasks this server
/// handed to it: what both know, what only we know, the upstream's tasks we never recorded (orphans: a create that
/// reached the upstream while its answer did not reach us, which costs the operator money nobody is charged for),
/// statuses that disagree, and the upstream's usage against the credits charged. Orphans are logged as warnings and
/// counted (<c>seedance_reconciliation_orphans_total</c>, tagged with the channel); queued ones can be cancelled.
/// </summary>
public sealed class Reconciliation
{
    /// <summary>How far back the upstream lists tasks.</summary>
    public static readonly TimeSpan UpstreamKeeps = TimeSpan.FromDays(7);
    private const int PageSize = 500, MaxPages = 500, Chunk = 500;

    private readonly ChannelPool _pool;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _clock;
    private readonly ILogger<Reconciliation> _logger;
    private readonly SeedanceMetrics _metrics;

    public Reconciliation(ChannelPool pool, IServiceProvider services, TimeProvider clock, SeedanceMetrics metrics, ILogger<Reconciliation> logger) =>
        (_pool, _services, _clock, _metrics, _logger) = (pool, services, clock, metrics, logger);

    /// <summary>Refuses a period the upstream cannot list (older than 7 days).</summary>
    public ReportPeriod Period(string? from, string? to)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var period = ReportPeriod.Parse(from, to, now, UpstreamKeeps);
        if (period.From < now - UpstreamKeeps) throw ApiError.InvalidParameter("from must be within the last 7 days: the upstream lists no older tasks");
        return period;
    }

    private sealed record Ours(string TaskId, string UpstreamTaskId, string Status);

    public async Task<ReconciliationReport> RunAsync(string name, ReportPeriod period, bool cancelOrphans, CancellationToken ct)
    {
        var channel = _pool.Find(name) ?? throw ApiError.ChannelNotFound(name);
        if (channel.Options.Provider != "ark")
            throw ApiError.InvalidParameter($"channel '{name}' is a {channel.Options.Provider} channel: reconciliation reads an Ark upstream's task list");
        var ark = (ArkProvider)ChannelPool.CreateProvider(channel.Options, _services);
        var (from, to) = (period.From, period.To);

        // The upstream's list, all of it (it holds 7 days): a task of ours near the period's edge is still found there.
        var models = channel.Options.Models.Values.ToHashSet(StringComparer.Ordinal);
        var upstream = new Dictionary<string, UpstreamTask>(StringComparer.Ordinal);
        for (var page = 1; page <= MaxPages; page++)
        {
            var listed = await ark.ListAsync(page, PageSize, ct);
            foreach (var task in listed.Items)
                if (models.Contains(task.Model)) upstream[task.Id] = task; // the account may serve others too: only this channel's models
            if (listed.Items.Count < PageSize || page * PageSize >= listed.Total) break;
        }
        var upstreamInPeriod = upstream.Values.Where(t => t.CreatedAt >= from && t.CreatedAt < to).ToList();

        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var ours = await db.Tasks.AsNoTracking()
            .Where(t => t.ChannelName == name && t.UpstreamTaskId != null && (t.QueuedAt ?? t.CreatedAt) >= from && (t.QueuedAt ?? t.CreatedAt) < to)
            .Select(t => new Ours(t.TaskId, t.UpstreamTaskId!, t.Status)).ToListAsync(ct);
        var known = ours.ToDictionary(t => t.UpstreamTaskId, StringComparer.Ordinal);
        // The upstream's tasks of the period that are not among ours of the period may still be ours, handed over just outside it.
        foreach (var chunk in upstreamInPeriod.Select(t => t.Id).Where(id => !known.ContainsKey(id)).Chunk(Chunk))
            foreach (var task in await db.Tasks.AsNoTracking().Where(t => t.UpstreamTaskId != null && chunk.Contains(t.UpstreamTaskId))
                         .Select(t => new Ours(t.TaskId, t.UpstreamTaskId!, t.Status)).ToListAsync(ct))
                known[task.UpstreamTaskId] = task;

        var matched = known.Values.Where(t => upstream.ContainsKey(t.UpstreamTaskId)).ToList();
        var missing = ours.Where(t => !upstream.ContainsKey(t.UpstreamTaskId))
            .Select(t => new MissingUpstreamTask(t.TaskId, t.UpstreamTaskId, t.Status)).ToList();
        var mismatches = matched.Where(t => ArkProvider.StatusOf(upstream[t.UpstreamTaskId].Status) != t.Status)
            .Select(t => new StatusMismatch(t.TaskId, t.UpstreamTaskId, t.Status, upstream[t.UpstreamTaskId].Status)).ToList();
        var orphans = new List<OrphanTask>();
        foreach (var task in upstreamInPeriod.Where(t => !known.ContainsKey(t.Id)).OrderBy(t => t.CreatedAt))
            orphans.Add(new OrphanTask(task.Id, task.Model, task.Status, task.CreatedAt, task.Tokens,
                cancelOrphans && task.Status == "queued" && await CancelAsync(ark, name, task.Id, ct)));

        var charged = 0m;
        foreach (var chunk in matched.Select(t => t.TaskId).Concat(missing.Select(t => t.TaskId)).Chunk(Chunk))
            charged += (await db.Ledger.AsNoTracking().Where(l => l.Kind == LedgerKind.Capture && chunk.Contains(l.TaskId!))
                .Select(l => l.Amount).ToListAsync(ct)).Sum();
        var tokens = matched.Sum(t => upstream[t.UpstreamTaskId].Tokens) + orphans.Sum(o => o.Tokens);
        var price = channel.Options.CostPerMillionTokens;
        decimal? cost = price is { } p ? tokens * p / 1_000_000m : null;

        foreach (var orphan in orphans)
            _logger.LogWarning("Channel {Channel}: upstream task {UpstreamTaskId} ({Status}, created {CreatedAt:u}) is none of this server's tasks: " +
                "a create whose answer was lost{Cancelled}", name, orphan.UpstreamTaskId, orphan.UpstreamStatus, orphan.CreatedAt,
                orphan.Cancelled ? "; cancelled at the upstream" : "");
        if (orphans.Count > 0) _metrics.OrphansFound(name, orphans.Count);
        return new ReconciliationReport(name, from, to, upstreamInPeriod.Count, ours.Count, matched.Count, missing, orphans, mismatches,
            tokens, price, cost, charged, cost is { } c ? charged - c : null);
    }

    private async Task<bool> CancelAsync(ArkProvider ark, string channel, string upstreamTaskId, CancellationToken ct)
    {
        try { return await ark.CancelAsync(upstreamTaskId, ct); }
        catch (ProviderException e)
        {
            _logger.LogWarning("Channel {Channel}: the orphan {UpstreamTaskId} could not be cancelled: {Why}", channel, upstreamTaskId, e.Message);
            return false;
        }
    }
}
