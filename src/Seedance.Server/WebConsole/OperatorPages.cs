using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Callbacks;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Keys;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;
using Seedance.Server.Usage;
using Seedance.Server.WebConsole.Pages;

namespace Seedance.Server.WebConsole;

/// <summary>The operator's pages, over the admin API's own services: key administration, the ledger, the webhook log, channels.</summary>
public static class OperatorPages
{
    public const int LedgerPerPage = 50, TasksPerPage = 50;

    public static void MapOperatorPages(this RouteGroupBuilder admin)
    {
        admin.MapGet("", OverviewAsync);
        admin.MapGet("/keys", KeysAsync);
        admin.MapPost("/keys", async (HttpContext http, KeyAdministration keys, IDataProtectionProvider protection) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            var created = await keys.CreateAsync(new NewKey(form["name"], Decimal(form, "credits")), http.RequestAborted);
            // Post/Redirect/Get: the key travels to the next page in a sealed cookie that page deletes, so that a reload neither
            // creates a second key nor shows this one again (and the key is never in a URL or stored).
            http.Response.Cookies.Append(CreatedKeyCookie, NewKeyProtector(protection).Protect(
                $"{created.Key.KeyId.ToString(CultureInfo.InvariantCulture)} {created.ApiKey}", CreatedKeyLifetime), CreatedKeyCookieOptions(http));
            return ConsolePages.SeeOther($"{ConsoleEndpoints.Root}/admin/keys");
        });
        admin.MapGet("/keys/{key_id:long}", KeyAsync);
        admin.MapPost("/keys/{key_id:long}/state", async (long key_id, HttpContext http, KeyAdministration keys) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            await keys.UpdateAsync(key_id, new KeyChange(Enabled: form["enabled"] == "true"), http.RequestAborted);
            return ConsolePages.SeeOther($"{ConsoleEndpoints.Root}/admin/keys/{key_id}?notice=saved");
        });
        admin.MapPost("/keys/{key_id:long}/limits", async (long key_id, HttpContext http, KeyAdministration keys) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            await keys.UpdateAsync(key_id, new KeyChange(MaxConcurrent: Int(form, "max_concurrent"), MaxPending: Int(form, "max_pending"),
                RateLimitPerSecond: Int(form, "rate_limit_per_second"), DailyCreditLimit: Decimal(form, "daily_credit_limit") ?? 0m,
                MonthlyCreditLimit: Decimal(form, "monthly_credit_limit") ?? 0m), http.RequestAborted);
            return ConsolePages.SeeOther($"{ConsoleEndpoints.Root}/admin/keys/{key_id}?notice=saved");
        });
        admin.MapPost("/keys/{key_id:long}/credits", async (long key_id, HttpContext http, KeyAdministration keys) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            await keys.AdjustCreditsAsync(key_id, new CreditChange(Decimal(form, "amount"), form["note"].ToString() is { Length: > 0 } note ? note : null), http.RequestAborted);
            return ConsolePages.SeeOther($"{ConsoleEndpoints.Root}/admin/keys/{key_id}?notice=adjusted");
        });
        admin.MapGet("/keys/{key_id:long}/ledger.csv", LedgerCsvAsync);
        admin.MapGet("/tasks", TasksAsync);
        admin.MapGet("/tasks/{task_id}", TaskAsync);
        admin.MapPost("/tasks/{task_id}/redeliver", async (string task_id, HttpContext http, WebhookLog log) =>
        {
            await log.RedeliverAsync(task_id, null, http.RequestAborted);
            return ConsolePages.SeeOther($"{ConsoleEndpoints.Root}/admin/tasks/{Uri.EscapeDataString(task_id)}?notice=redelivered");
        });
        admin.MapGet("/channels", async (HttpContext http, ChannelAdministration channels) =>
            ConsolePages.Render<ChannelsPage>(http, "channels", await channels.ListAsync(http.RequestAborted)));
    }

    internal static IReadOnlyList<KeyRecord> Search(IReadOnlyList<KeyRecord> keys, string? q) => string.IsNullOrWhiteSpace(q) ? keys
        : keys.Where(k => k.Name.Contains(q.Trim(), StringComparison.OrdinalIgnoreCase) || k.KeyPrefix.StartsWith(q.Trim(), StringComparison.Ordinal)
            || k.KeyId.ToString(CultureInfo.InvariantCulture) == q.Trim()).ToList();

    public const string CreatedKeyCookie = "sd2_new_key";
    private static readonly TimeSpan CreatedKeyLifetime = TimeSpan.FromMinutes(5);

    private static ITimeLimitedDataProtector NewKeyProtector(IDataProtectionProvider protection) =>
        protection.CreateProtector("console-created-key").ToTimeLimitedDataProtector();

    private static CookieOptions CreatedKeyCookieOptions(HttpContext http) => new()
    {
        Path = ConsoleEndpoints.Root + "/admin/keys", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, MaxAge = CreatedKeyLifetime,
    };

    /// <summary>The keys, and the key just created once, on the first view after its creation (its cookie is deleted as it is shown).</summary>
    private static async Task<IResult> KeysAsync(HttpContext http, KeyAdministration keys, IDataProtectionProvider protection, string? q)
    {
        CreatedKey? created = null;
        if (http.Request.Cookies[CreatedKeyCookie] is { } sealedKey)
        {
            http.Response.Cookies.Delete(CreatedKeyCookie, CreatedKeyCookieOptions(http));
            if (Unseal(protection, sealedKey) is var (keyId, apiKey)) created = new CreatedKey(apiKey, await keys.GetAsync(keyId, http.RequestAborted));
        }
        return ConsolePages.Render<KeysPage>(http, "keys", new KeysPage.List(Search(await keys.ListAsync(http.RequestAborted), q), q, created));
    }

    private static (long KeyId, string ApiKey)? Unseal(IDataProtectionProvider protection, string sealedKey)
    {
        try
        {
            var parts = NewKeyProtector(protection).Unprotect(sealedKey).Split(' ', 2);
            return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var keyId) ? (keyId, parts[1]) : null;
        }
        catch (CryptographicException)
        {
            return null; // expired, or sealed under another signing key: nothing to show
        }
    }

    private static async Task<IResult> KeyAsync(long key_id, HttpContext http, KeyAdministration keys, int? page, string? notice)
    {
        var key = await keys.GetAsync(key_id, http.RequestAborted);
        var number = Math.Max(1, page ?? 1);
        var (entries, more) = await keys.LedgerPageAsync(key_id, number, LedgerPerPage, http.RequestAborted);
        return ConsolePages.Render<KeyPage>(http, "keys", new KeyPage.Detail(key, entries, number, more, CustomerPages.Notice(notice)));
    }

    /// <summary>
    /// The whole ledger of a key as CSV, oldest first, written as it is read: a thousand entries at a time by id through the
    /// index of (key, id), up to the last entry there was when the export began, so that entries written meanwhile neither
    /// shift nor repeat a row.
    /// </summary>
    private static async Task<IResult> LedgerCsvAsync(long key_id, HttpContext http, KeyAdministration keys, SeedanceDb db)
    {
        await keys.GetAsync(key_id, http.RequestAborted); // KEY_NOT_FOUND as a page, before anything is written
        var last = await db.Ledger.AsNoTracking().Where(l => l.KeyId == key_id).MaxAsync(l => (long?)l.Id, http.RequestAborted) ?? 0;
        return Results.Stream(async body =>
        {
            var ct = http.RequestAborted;
            await using var csv = new StreamWriter(body, new UTF8Encoding(false), 64 * 1024);
            await csv.WriteAsync("id,created_at,kind,amount,task_id,note\n");
            for (long after = 0; after < last;)
            {
                var entries = await db.Ledger.AsNoTracking().Where(l => l.KeyId == key_id && l.Id > after && l.Id <= last).OrderBy(l => l.Id).Take(1000)
                    .Select(l => new LedgerView(l.Id, l.TaskId, l.Kind, l.Amount, l.Note, l.CreatedAt)).ToListAsync(ct);
                if (entries.Count == 0) break;
                foreach (var e in entries)
                    await csv.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{e.Id},{e.CreatedAt:O},{e.Kind},{Credits.Format(e.Amount)},{UsageReport.Field(e.TaskId)},{UsageReport.Field(e.Note)}\n"));
                after = entries[^1].Id;
                await csv.FlushAsync(ct);
            }
        }, "text/csv; charset=utf-8", $"key-{key_id}-ledger.csv");
    }

    private static async Task<IResult> TasksAsync(HttpContext http, SeedanceDb db, string? id, long? key, string? status, string? model, DateTime? from, DateTime? to, int? page)
    {
        var q = db.Tasks.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(id)) q = q.Where(t => t.TaskId == id.Trim());
        if (key is { } keyId) q = q.Where(t => t.KeyId == keyId);
        if (!string.IsNullOrEmpty(status)) q = q.Where(t => t.Status == status);
        if (!string.IsNullOrEmpty(model)) q = q.Where(t => t.Model == model);
        // The form's times are UTC (the page says so); a datetime-local value comes without a kind and is not the server's local time.
        if (from is { } start)
        {
            var since = DateTime.SpecifyKind(start, DateTimeKind.Utc);
            q = q.Where(t => t.CreatedAt >= since);
        }
        if (to is { } end)
        {
            var until = DateTime.SpecifyKind(end, DateTimeKind.Utc);
            q = q.Where(t => t.CreatedAt < until);
        }
        var number = Math.Max(1, page ?? 1);
        var skip = Paging.Skip(number, TasksPerPage);
        // Newest first, in an order an index keeps, so that a large set is not sorted in full for one page: within a time range
        // by the time of submission; the tasks that ended with one status by the time they ended (the index of ended tasks);
        // else by submission.
        var ordered = from is not null || to is not null ? q.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Seq)
            : status is not null && VideoTaskStatus.IsTerminal(status) ? q.Where(t => t.FinishedAt != null).OrderByDescending(t => t.FinishedAt).ThenByDescending(t => t.Seq)
            : q.OrderByDescending(t => t.Seq);
        var rows = await ordered.Skip(skip).Take(TasksPerPage + 1)
            .Select(t => new AdminTasksPage.Row(t.TaskId, t.KeyId, t.Model, t.Status, t.Resolution, t.Duration, t.CreditCost, t.ChannelName, t.ErrorCode, t.CreatedAt))
            .ToListAsync(http.RequestAborted);
        return ConsolePages.Render<AdminTasksPage>(http, "admintasks", new AdminTasksPage.Found(rows.Take(TasksPerPage).ToList(), rows.Count > TasksPerPage, number,
            new AdminTasksPage.Query(id, key, status, model, from, to)));
    }

    private static async Task<IResult> TaskAsync(string task_id, HttpContext http, SeedanceDb db, PublicLinks links, TaskTimings timings, WebhookLog log, string? notice)
    {
        var task = await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.TaskId == task_id, http.RequestAborted) ?? throw ApiError.TaskNotFound();
        var view = TaskView.Of(task, links, outlook: await timings.OutlookAsync(db, task, http.RequestAborted));
        var ledger = await db.Ledger.AsNoTracking().Where(e => e.TaskId == task_id).OrderBy(e => e.Id)
            .Select(e => new LedgerView(e.Id, e.TaskId, e.Kind, e.Amount, e.Note, e.CreatedAt)).ToListAsync(http.RequestAborted);
        var deliveries = await log.ForTaskAsync(task_id, null, http.RequestAborted);
        return ConsolePages.Render<TaskDetailPage>(http, "admintasks",
            new TaskDetailPage.Detail(view, CustomerPages.Content(task), task, deliveries.Deliveries, ledger, CustomerPages.Notice(notice)));
    }

    /// <summary>The last 24 hours: the usage report's figures, the channels' state, times to complete and recent failures.</summary>
    private static async Task<IResult> OverviewAsync(HttpContext http, SeedanceDb db, SqlDialect dialect, TimeProvider clock, ChannelAdministration channels)
    {
        var ct = http.RequestAborted;
        var now = clock.GetUtcNow().UtcDateTime;
        var since = now.AddHours(-24);
        var usage = await UsageReport.RunAsync(db, new ReportPeriod(since, now), [], null, ct);
        // What is in flight now, whenever submitted (few rows, through the status index).
        var active = await db.Tasks.AsNoTracking().Where(t => VideoTaskStatus.NonTerminal.Contains(t.Status))
            .GroupBy(t => t.Status).Select(g => new { Status = g.Key, Count = g.Count() }).ToListAsync(ct);
        var seconds = (await TaskStore.SecondsToCompleteAsync(db, dialect, since, 10_000, ct)).Order().ToList();
        // Through the index of (status, finished_at): the day's failures, the latest first.
        var failures = await db.Tasks.AsNoTracking().Where(t => t.Status == VideoTaskStatus.Failed && t.FinishedAt >= since).OrderByDescending(t => t.FinishedAt).Take(10)
            .Select(t => new OverviewPage.Failure(t.TaskId, t.KeyId, t.ErrorCode, t.ErrorMessage, t.FinishedAt!.Value)).ToListAsync(ct);
        var statuses = new Dictionary<string, int>
        {
            [VideoTaskStatus.Completed] = usage.Total.Completed, [VideoTaskStatus.Failed] = usage.Total.Failed,
            [VideoTaskStatus.Cancelled] = usage.Total.Cancelled, [VideoTaskStatus.Expired] = usage.Total.Expired,
        };
        foreach (var a in active) statuses[a.Status] = a.Count;
        return ConsolePages.Render<OverviewPage>(http, "overview", new OverviewPage.Day(statuses, usage.Total, await channels.ListAsync(ct),
            Percentile(seconds, 0.5), Percentile(seconds, 0.95), failures));
    }

    internal static double? Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static decimal? Decimal(IFormCollection form, string name) => form[name].ToString().Trim() is { Length: > 0 } v
        ? decimal.TryParse(v, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : throw ApiError.InvalidParameter($"{name} must be a number")
        : null;

    private static int? Int(IFormCollection form, string name) => form[name].ToString().Trim() is { Length: > 0 } v
        ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw ApiError.InvalidParameter($"{name} must be an integer")
        : null;
}
