using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Usage;

/// <summary>Usage reports: the caller's own (<c>/api/v1/video/usage</c>) and every key's for the operator; JSON, or CSV with <c>format=csv</c>.</summary>
public static class UsageEndpoints
{
    private static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(30);

    public static void MapUsage(this IEndpointRouteBuilder api) =>
        api.MapGet("/usage", (HttpContext context, SeedanceDb db, TimeProvider clock, string? from, string? to, string? group_by, string? format) =>
                ReportAsync(db, clock, from, to, UsageReport.Dimensions(group_by, UsageReport.CustomerDimensions), context.Caller().KeyId, format, context.RequestAborted))
            .WithName("GetUsage").WithTags("Usage")
            .WithSummary("The caller's usage per period (default the last 30 days) and group (group_by=day,model): tasks submitted, completed, failed, "
                + "cancelled and expired, video seconds completed and credits captured; format=csv for a spreadsheet")
            .Produces<Envelope<UsageReportView>>().WithMetadata(AnswersCsv.Instance).ProducesErrors("INVALID_PARAMETER");

    public static void MapUsageAdmin(this IEndpointRouteBuilder app) =>
        app.MapAdminGroup("/admin/v1/usage").WithTags("Usage")
            .MapGet("/", (SeedanceDb db, TimeProvider clock, string? from, string? to, string? group_by, long? key_id, string? format, CancellationToken ct) =>
                ReportAsync(db, clock, from, to, UsageReport.Dimensions(group_by, UsageReport.AdminDimensions), key_id, format, ct))
            .WithName("GetAllUsage")
            .WithSummary("Usage of every key (or one with key_id) per period and group (group_by=day,key,model,resolution,channel, any subset); "
                + "credits equal the ledger's captures; format=csv for a spreadsheet")
            .Produces<Envelope<UsageReportView>>().WithMetadata(AnswersCsv.Instance).ProducesErrors("INVALID_PARAMETER");

    private static async Task<IResult> ReportAsync(SeedanceDb db, TimeProvider clock, string? from, string? to, IReadOnlyList<string> dimensions, long? keyId,
        string? format, CancellationToken ct)
    {
        if (format is not (null or "json" or "csv")) throw ApiError.InvalidParameter("format must be json or csv");
        var report = await UsageReport.RunAsync(db, ReportPeriod.Parse(from, to, clock.GetUtcNow().UtcDateTime, DefaultSpan), dimensions, keyId, ct);
        return format == "csv" ? Results.Text(UsageReport.Csv(report), "text/csv; charset=utf-8") : Envelope.Ok(report);
    }
}
