using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.OpenApi;

/// <summary>
/// Who may call an operation and how it can be refused: its security requirement, and one answer per HTTP status with the
/// error codes it carries (listed, described and shown as examples), all of the one <c>ErrorEnvelope</c> schema. The codes
/// are the route's own (<see cref="ProducesErrorsExtensions.ProducesErrors{TBuilder}"/>) and those its kind shares.
/// </summary>
public static class ErrorResponses
{
    public const string EnvelopeSchema = "ErrorEnvelope";

    /// <summary>The envelope of every refusal. <c>code</c> stays a string: the server may add codes, and a client must not break on one.</summary>
    public static readonly OpenApiSchema Envelope = new()
    {
        Type = JsonSchemaType.Object,
        Description = "A refusal: the error code, a message naming the field and the rule, and no result.",
        Required = new HashSet<string> { "code", "message", "result" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The error code, e.g. INVALID_PARAMETER" },
            ["message"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What was wrong, e.g. Invalid parameter: duration must be 4-15" },
            ["result"] = new OpenApiSchema { Type = JsonSchemaType.Null },
        },
    };

    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var codes = new List<ErrorCode>();
        if (metadata.OfType<ApiKeyRequired>().Any())
        {
            Require(operation, context, ApiDocuments.ApiKeyScheme);
            codes.Add(ErrorCodes.Get("INVALID_API_KEY"));
        }
        if (metadata.OfType<AuthorizationPolicy>().Any(p => p.AuthenticationSchemes.Contains(AdminAuthenticationHandler.SchemeName)))
        {
            Require(operation, context, ApiDocuments.AdminTokenScheme);
            codes.Add(ErrorCodes.Get("INVALID_ADMIN_TOKEN"));
        }
        codes.AddRange(metadata.OfType<ProducesErrorsMetadata>().SelectMany(m => m.Codes));
        if (operation.RequestBody is not null) codes.AddRange(ErrorCodes.BodyRefusals);
        if (metadata.OfType<EnableRateLimitingAttribute>().Any()) codes.Add(ErrorCodes.Get("RATE_LIMIT_EXCEEDED"));
        codes.Add(ErrorCodes.Get("SERVICE_BUSY")); // every route reads the database, which may be away a moment
        codes.Add(ErrorCodes.Get("INTERNAL_ERROR"));

        operation.Responses ??= [];
        foreach (var status in codes.Distinct().GroupBy(c => c.Status).OrderBy(g => g.Key))
            operation.Responses[status.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Answer(status.ToList(), context.Document!);
        return Task.CompletedTask;
    }

    private static void Require(OpenApiOperation operation, OpenApiOperationTransformerContext context, string scheme)
    {
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] });
    }

    private static OpenApiResponse Answer(IReadOnlyList<ErrorCode> codes, OpenApiDocument document) => new()
    {
        Description = string.Join("\n", codes.Select(c => $"- {c.Code}: {c.Meaning}")),
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchemaReference(EnvelopeSchema, document),
                Examples = codes.ToDictionary(c => c.Code, c => (IOpenApiExample)new OpenApiExample
                {
                    Summary = c.Meaning,
                    Value = JsonSerializer.SerializeToNode(new Envelope<object>(c.Code, c.ExampleMessage, null), Json.Options),
                }),
            },
        },
        // The codes of this status as a list a program can read (a generator ignores it).
        Extensions = new Dictionary<string, IOpenApiExtension>
        {
            ["x-error-codes"] = new JsonNodeExtension(new JsonArray(codes.Select(c => (JsonNode)JsonValue.Create(c.Code)).ToArray())),
        },
    };
}
