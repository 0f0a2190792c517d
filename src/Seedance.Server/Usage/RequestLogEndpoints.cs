using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Usage;

/// <param name="Code">The envelope's code: <c>200</c> for a success, the error code of a refusal.</param>
/// <param name="Route">The route's template; null when the path matched no route.</param>
public sealed record RequestSummary(string RequestId, DateTime At, long? KeyId, string Method, string? Route, string Path, int Status, string? Code, double LatencyMs);

/// <param name="NextCursor">Pass as <c>cursor</c> for the next (older) page; null on the last page.</param>
public sealed record RequestPage(IReadOnlyList<RequestSummary> Data, string? NextCursor);

/// <summary>The request log, read: the caller's own requests, and every key's for the operator. Newest first, a page at a time.</summary>
public static class RequestLogEndpoints
{
    private static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(1);

    public static void MapRequestLog(this IEndpointRouteBuilder api) =>
        api.MapGet("/requests", (HttpContext context, RequestLogStore store, TimeProvider clock, string? from, string? to, string? status, string? cursor, string? page_size) =>
                PageAsync(store, clock, context.Caller().KeyId, from, to, status, cursor, page_size, context.RequestAborted))
            .WithName("ListRequests").WithTags("Usage")
            .WithSummary("The caller's recent API requests, newest first: time, method, route, HTTP status, code, latency and request id (never bodies); "
                + "status filters by an HTTP status (429), a class (4xx) or error (400 and above)")
            .Produces<Envelope<RequestPage>>().ProducesErrors("INVALID_PARAMETER");

    public static void MapRequestLogAdmin(this IEndpointRouteBuilder app) =>
        app.MapAdminGroup("/admin/v1/requests").WithTags("Usage")
            .MapGet("/", (RequestLogStore store, TimeProvider clock, long? key_id, string? from, string? to, string? status, string? cursor, string? page_size,
                    CancellationToken ct) => PageAsync(store, clock, key_id, from, to, status, cursor, page_size, ct))
            .WithName("ListAllRequests").WithSummary("Every key's recent API requests (or one key's with key_id), newest first")
            .Produces<Envelope<RequestPage>>().ProducesErrors("INVALID_PARAMETER");

    private static async Task<IResult> PageAsync(RequestLogStore store, TimeProvider clock, long? keyId, string? from, string? to, string? status,
        string? cursor, string? pageSize, CancellationToken ct) =>
        Envelope.Ok(await ReadAsync(store, clock, keyId, from, to, status, cursor, pageSize, ct));

    /// <summary>A page of the log, newest first (the API's, and the console's request log).</summary>
    internal static async Task<RequestPage> ReadAsync(RequestLogStore store, TimeProvider clock, long? keyId, string? from, string? to, string? status,
        string? cursor, string? pageSize, CancellationToken ct)
    {
        var period = ReportPeriod.Parse(from, to, clock.GetUtcNow().UtcDateTime, DefaultSpan);
        var size = ReportPeriod.Int(pageSize, "page_size", 50, 1, 500);
        var (lowest, highest) = StatusRange(status);
        long? before = cursor is null ? null
            : long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : throw ApiError.InvalidParameter("cursor must be a next_cursor of a previous page");
        var rows = await store.ReadAsync((log, token) =>
        {
            var q = log.Where(r => r.At >= period.From && r.At < period.To && r.Status >= lowest && r.Status <= highest);
            if (keyId is { } key) q = q.Where(r => r.KeyId == key);
            if (before is { } id) q = q.Where(r => r.Id < id);
            return q.OrderByDescending(r => r.Id).Take(size + 1).ToListAsync(token);
        }, ct);
        var page = rows.Take(size).Select(r => new RequestSummary(r.RequestId, r.At, r.KeyId, r.Method, r.Route, r.Path, r.Status,
            r.Status < 400 ? "200" : r.Code, Math.Round(r.LatencyMs, 2))).ToList();
        return new RequestPage(page, rows.Count > size ? rows[size - 1].Id.ToString(CultureInfo.InvariantCulture) : null);
    }

    /// <summary>The HTTP statuses <c>status</c> names: one (<c>429</c>), a class (<c>4xx</c>), or every refusal (<c>error</c>).</summary>
    internal static (int Lowest, int Highest) StatusRange(string? status) => status switch
    {
        null => (0, 999),
        "error" => (400, 999),
        [var d, 'x', 'x'] when d is >= '1' and <= '5' => ((d - '0') * 100, (d - '0') * 100 + 99),
        _ when int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 100 and <= 599 => (n, n),
        _ => throw ApiError.InvalidParameter("status must be an HTTP status (e.g. 429), a class (e.g. 4xx) or error"),
    };
}
