using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.OpenApi;

/// <summary>
/// A route that answers CSV on request (<c>format=csv</c>) besides its envelope: its success lists both media types,
/// the envelope's schema for JSON and text for CSV. Declaring both with <c>Produces</c> would keep only the last.
/// </summary>
public static class CsvAnswers
{
    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<AnswersCsv>().Any()) return Task.CompletedTask;
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } content)
            content["text/csv"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A header line, then one line per row" } };
        return Task.CompletedTask;
    }
}
