using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Seedance.Server.OpenApi;

/// <summary>
/// Schemas as the wire carries them where the generated ones differ. The server's JSON converters write credit figures as
/// numbers and times as ISO 8601 strings, which the schema generator cannot see through; and the lenient reading of numbers
/// from strings, which the web defaults allow, is never what the server writes, so a client should not be told to expect it.
/// </summary>
public static class WireSchemas
{
    private static readonly OpenApiSchema Credits = new() { Type = JsonSchemaType.Number, Format = "decimal" };

    public static Task CorrectAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo.Type;
        var nullable = Nullable.GetUnderlyingType(type) is not null;
        var orNull = nullable ? JsonSchemaType.Null : 0;
        type = Nullable.GetUnderlyingType(type) ?? type;

        if (type == typeof(decimal))
        {
            schema.Type = JsonSchemaType.Number | orNull;
            schema.Format = Credits.Format;
            schema.Pattern = null;
        }
        else if (type == typeof(DateTime))
        {
            schema.Type = JsonSchemaType.String | orNull;
            schema.Format = "date-time";
            schema.Pattern = null;
        }
        else if (type == typeof(IReadOnlyDictionary<string, decimal>))
        {
            schema.Type = JsonSchemaType.Object;
            schema.AdditionalProperties = Credits;
        }
        else if (schema.Type is { } wire && wire.HasFlag(JsonSchemaType.String) && (wire.HasFlag(JsonSchemaType.Integer) || wire.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = wire & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }
}
