using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Billing;
using Seedance.Server.Callbacks;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;
using Seedance.Server.Usage;
using Seedance.Server.WebConsole.Pages;

namespace Seedance.Server.WebConsole;

/// <summary>
/// A customer's pages, over the same code as the API: the task list and its cancel, the balance, the usage report, the
/// webhook secret and deliveries, the request log. A session reaches its own key's data alone: every read and change is
/// made with the session's key id, exactly as the API makes it with the caller's.
/// </summary>
public static class CustomerPages
{
    public const int TasksPerPage = 20;

    public static void MapCustomerPages(this RouteGroupBuilder customer)
    {
        customer.MapGet("/tasks", TasksAsync);
        customer.MapGet("/tasks/{task_id}", TaskAsync);
        customer.MapPost("/tasks/{task_id}/cancel", async (string task_id, HttpContext http, SeedanceDb db, TaskStore tasks, ChannelPool channels) =>
        {
            await TaskEndpoints.CancelAsync(db, tasks, channels, http.Caller().KeyId, task_id, http.RequestAborted);
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            return ConsolePages.SeeOther(WithNotice(ConsolePages.LocalPath(form["back"]), "cancelled"));
        });
        customer.MapPost("/tasks/{task_id}/redeliver", async (string task_id, HttpContext http, WebhookLog log) =>
        {
            await log.RedeliverAsync(task_id, http.Caller().KeyId, http.RequestAborted);
            return ConsolePages.SeeOther(WithNotice($"{ConsoleEndpoints.Root}/tasks/{Uri.EscapeDataString(task_id)}", "redelivered"));
        });
        customer.MapGet("/playground", (HttpContext http, ModelCatalogue catalogue) =>
            ConsolePages.Render<PlaygroundPage>(http, "playground", ModelEndpoints.List(catalogue, http.Caller().PricePlan)));
        customer.MapGet("/balance", BalanceAsync);
        customer.MapGet("/webhooks", WebhooksAsync);
        customer.MapPost("/webhooks/rotate", async (HttpContext http, WebhookSecrets secrets) =>
        {
            await secrets.RotateAsync(http.Caller().KeyId, http.RequestAborted);
            return ConsolePages.SeeOther(ConsoleEndpoints.Root + "/webhooks?reveal=1&notice=rotated");
        });
        customer.MapGet("/requests", async (HttpContext http, RequestLogStore store, TimeProvider clock, string? errors, string? cursor) =>
            ConsolePages.Render<RequestsPage>(http, "requests", new RequestsPage.Log(
                await RequestLogEndpoints.ReadAsync(store, clock, http.Caller().KeyId, null, null, errors == "1" ? "error" : null, cursor, "50", http.RequestAborted),
                errors == "1")));
        customer.MapGet("/quickstart", (HttpContext http) => ConsolePages.Render<QuickstartPage>(http, "quickstart"));
    }

    private static async Task<IResult> TasksAsync(HttpContext http, SeedanceDb db, PublicLinks links, TaskTimings timings, string? status, int? page, string? notice)
    {
        if (status is { Length: 0 }) status = null;
        TaskEndpoints.CheckStatus(status);
        var number = Math.Max(1, page ?? 1);
        var tasks = await TaskEndpoints.PageAsync(db, links, timings, http.Caller().KeyId, number, TasksPerPage, status, http.RequestAborted);
        return ConsolePages.Render<TasksPage>(http, "tasks", new TasksPage.List(tasks, status, Notice(notice)));
    }

    private static async Task<IResult> TaskAsync(string task_id, HttpContext http, SeedanceDb db, PublicLinks links, TaskTimings timings, WebhookLog log, string? notice)
    {
        var keyId = http.Caller().KeyId;
        var task = await TaskEndpoints.Find(db, keyId, task_id, http.RequestAborted); // another key's task: TASK_NOT_FOUND, as the API answers
        var view = TaskView.Of(task, links, outlook: await timings.OutlookAsync(db, task, http.RequestAborted));
        var deliveries = await log.ForTaskAsync(task_id, keyId, http.RequestAborted);
        return ConsolePages.Render<TaskDetailPage>(http, "tasks", new TaskDetailPage.Detail(view, Content(task), task, deliveries.Deliveries, null, Notice(notice)));
    }

    private static async Task<IResult> BalanceAsync(HttpContext http, SeedanceDb db, TimeProvider clock, DailyUsage daily)
    {
        var keyId = http.Caller().KeyId;
        var balance = await BalanceEndpoints.OfAsync(db, clock, keyId, http.RequestAborted);
        var now = clock.GetUtcNow().UtcDateTime;
        var usage = await daily.OfAsync(db, keyId, http.RequestAborted);
        return ConsolePages.Render<BalancePage>(http, "balance", new BalancePage.Figures(balance, usage, now.Date));
    }

    private static async Task<IResult> WebhooksAsync(HttpContext http, SeedanceDb db, WebhookSecrets secrets, string? reveal, string? notice)
    {
        var keyId = http.Caller().KeyId;
        var secret = reveal == "1" ? await secrets.GetAsync(keyId, http.RequestAborted) : null;
        var recent = await db.WebhookDeliveries.AsNoTracking().Where(d => d.KeyId == keyId).OrderByDescending(d => d.Id).Take(50)
            .Select(d => new WebhooksPage.Delivery(d.TaskId, d.Url, d.Status, d.Attempts, d.LastStatus, d.LastError, d.CreatedAt, d.DeliveredAt))
            .ToListAsync(http.RequestAborted);
        return ConsolePages.Render<WebhooksPage>(http, "webhooks", new WebhooksPage.State(secret, recent, Notice(notice)));
    }

    /// <summary>What the task was asked: its content items as stored (prompt text, references), for display (encoded as text).</summary>
    internal static IReadOnlyList<ContentItem> Content(VideoTask task) =>
        string.IsNullOrEmpty(task.ContentJson) ? [] : JsonSerializer.Deserialize<List<ContentItem>>(task.ContentJson, Json.Options) ?? [];

    /// <summary>The path with the notice in its query, in place of any notice it already carried (a page's own address after an earlier one).</summary>
    internal static string WithNotice(string path, string notice)
    {
        var at = path.IndexOf('?');
        var kept = at < 0 ? [] : path[(at + 1)..].Split('&').Where(p => p.Length > 0 && p != "notice" && !p.StartsWith("notice=", StringComparison.Ordinal));
        return (at < 0 ? path : path[..at]) + "?" + string.Join('&', kept.Append("notice=" + notice));
    }

    /// <summary>Only the notices the console itself sends: a link cannot make a page say anything else.</summary>
    internal static string? Notice(string? notice) => notice is "cancelled" or "redelivered" or "rotated" or "saved" or "adjusted" ? "notice." + notice : null;
}
