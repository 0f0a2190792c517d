namespace Seedance.Client;

/// <summary>The key's usage over a period, as <see cref="SeedanceClient.GetUsageAsync"/> reads it.</summary>
/// <param name="From">The start of the period (inclusive).</param>
/// <param name="To">The end of the period (exclusive).</param>
/// <param name="GroupBy">The dimensions the rows are grouped by (<c>day</c>, <c>model</c>), none for one row.</param>
/// <param name="Rows">One row per group.</param>
/// <param name="Total">The rows added up.</param>
public sealed record UsageReport(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> GroupBy, IReadOnlyList<UsageRow> Rows, UsageRow Total);

/// <summary>The figures of one group of a <see cref="UsageReport"/>: what happened in the period, on the UTC day it happened.</summary>
/// <param name="Day">The UTC day (<c>yyyy-MM-dd</c>) when grouped by day.</param>
/// <param name="Model">The model when grouped by model.</param>
/// <param name="Tasks">Tasks submitted.</param>
/// <param name="Completed">Tasks that completed.</param>
/// <param name="Failed">Tasks that failed.</param>
/// <param name="Cancelled">Tasks that were cancelled.</param>
/// <param name="Expired">Tasks that expired.</param>
/// <param name="VideoSeconds">Seconds of video of the completed tasks.</param>
/// <param name="Credits">Credits captured (the ledger's captures, exactly).</param>
public sealed record UsageRow(string? Day, string? Model, int Tasks, int Completed, int Failed, int Cancelled, int Expired, long VideoSeconds, decimal Credits);

/// <summary>One API request of the key, as the server logged it (<see cref="SeedanceClient.ListRequestsAsync"/>).</summary>
/// <param name="RequestId">The id the answer carried in its <c>X-Request-Id</c> header.</param>
/// <param name="At">When the request arrived.</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Route">The route's template (<c>/api/v1/video/task/{task_id}</c>); null when the path matched none.</param>
/// <param name="Path">The path, without its query string.</param>
/// <param name="Status">The HTTP status answered.</param>
/// <param name="Code">The envelope's code: <c>200</c>, or the error code.</param>
/// <param name="LatencyMs">How long the server took to answer, in milliseconds.</param>
public sealed record ApiRequestSummary(string RequestId, DateTimeOffset At, string Method, string? Route, string Path, int Status, string? Code, double LatencyMs);
