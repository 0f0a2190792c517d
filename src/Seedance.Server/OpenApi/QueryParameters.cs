using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Seedance.Server.Data;
using Seedance.Server.Uploads;

namespace Seedance.Server.OpenApi;

/// <summary>
/// The public API's query parameters as the API document defines them. The handlers take them as text, to refuse a bad
/// value with a message naming the rule rather than a binding error, so their type and rule are stated here, once per name
/// (a name means the same on every route).
/// </summary>
public static class QueryParameters
{
    private static readonly Dictionary<string, (OpenApiSchema Schema, string Description, bool Required)> Documented = new()
    {
        ["page"] = (Integer(1, null, 1), "Page number, from 1", false),
        ["page_size"] = (Integer(1, 100, 20), "Tasks per page, 1-100", false),
        ["status"] = (Text(VideoTaskStatus.All), "Only tasks in this status", false),
        ["task_ids"] = (new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String }, MaxItems = 100 },
            "Task ids (comma-separated, or the parameter repeated; at most 100): the caller's tasks among them, in this order, in the list's shape. Not with page or page_size", false),
        ["wait"] = (Integer(0, 60, null), "Seconds to wait for the task to become terminal (at most 60): the answer comes as soon as it is, or when the wait ends", false),
        ["filename"] = (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 128 },
            "The file's name, 1-128 characters without path separators; its extension must fit content_type", true),
        ["content_type"] = (Text(MediaTypes.All), "The file's MIME type", true),
    };

    /// <summary>The reports' parameters; <c>status</c> and <c>page_size</c> of the request log mean something else there than for tasks.</summary>
    private static readonly Dictionary<string, (OpenApiSchema Schema, string Description, bool Required)> Reports = new()
    {
        ["from"] = (new OpenApiSchema { Type = JsonSchemaType.String }, "Start of the period (inclusive): an ISO 8601 time or date, UTC", false),
        ["to"] = (new OpenApiSchema { Type = JsonSchemaType.String }, "End of the period (exclusive): an ISO 8601 time or date, UTC; default now", false),
        ["group_by"] = (new OpenApiSchema { Type = JsonSchemaType.String }, "Comma-separated dimensions of the rows: day, model (none: one row)", false),
        ["format"] = (Text(["json", "csv"]), "json (default: the envelope) or csv (text/csv: a header line, then the rows)", false),
        ["cursor"] = (new OpenApiSchema { Type = JsonSchemaType.String }, "The next_cursor of the previous page: the older requests", false),
    };

    private static readonly Dictionary<string, (OpenApiSchema Schema, string Description, bool Required)> RequestLog = new()
    {
        ["status"] = (new OpenApiSchema { Type = JsonSchemaType.String }, "Only requests answered with this HTTP status (429), class (4xx), or error (400 and above)", false),
        ["page_size"] = (Integer(1, 500, 50), "Requests per page, 1-500", false),
    };

    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var requestLog = operation.OperationId == "ListRequests";
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.In != ParameterLocation.Query) continue;
            if (!(requestLog && RequestLog.TryGetValue(parameter.Name!, out var documented)) && !Reports.TryGetValue(parameter.Name!, out documented)
                && !Documented.TryGetValue(parameter.Name!, out documented)) continue;
            parameter.Schema = documented.Schema;
            parameter.Description = documented.Description;
            parameter.Required = documented.Required;
        }
        return Task.CompletedTask;
    }

    private static OpenApiSchema Integer(int min, int? max, int? fallback) => new()
    {
        Type = JsonSchemaType.Integer, Format = "int32", Minimum = min.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Maximum = max?.ToString(System.Globalization.CultureInfo.InvariantCulture), Default = fallback is null ? null : JsonValue.Create(fallback.Value),
    };

    private static OpenApiSchema Text(IEnumerable<string> values) =>
        new() { Type = JsonSchemaType.String, Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList() };
}
