using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Seedance.Server.Auth;

namespace Seedance.Server.OpenApi;

/// <summary>
/// The two OpenAPI documents, generated from the routes and their metadata: <c>/openapi/v1.json</c>, the public API behind
/// <c>X-API-Key</c>, and <c>/openapi/admin.json</c>, the admin API behind the operator's bearer token. Both are readable
/// without credentials: they describe routes, never data.
/// </summary>
public static class ApiDocuments
{
    public const string Public = "v1";
    public const string ApiKeyScheme = "ApiKey", AdminTokenScheme = "AdminToken";

    public static IServiceCollection AddApiDocuments(this IServiceCollection services)
    {
        services.AddOpenApi(Public, o => Configure(o, d => d.GroupName is null, new OpenApiInfo
        {
            Title = "Seedance 2.0 API", Version = "v1",
            Description = "Video generation: upload references, submit tasks, poll or stream them, cancel, read the balance. Every answer is "
                + "the envelope {code, message, result}: code \"200\" and the result on success, an error code and result null otherwise.",
        }, ApiKeyScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeyCheck.Header,
            Description = "The API key the operator issued (sk-sd2-...).",
        }).AddOperationTransformer(QueryParameters.DescribeAsync));
        services.AddOpenApi(AdminRoutes.DocumentName, o => Configure(o, d => d.GroupName == AdminRoutes.DocumentName, new OpenApiInfo
        {
            Title = "Seedance 2.0 admin API", Version = "v1",
            Description = "The operator's API: keys, credits, ledgers, channels, task routing and callback deliveries.",
        }, AdminTokenScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer",
            Description = "The admin token (Seedance__AdminToken, or the one generated into the data directory on first start).",
        }));
        return services;
    }

    private static OpenApiOptions Configure(OpenApiOptions options, Func<Microsoft.AspNetCore.Mvc.ApiExplorer.ApiDescription, bool> include,
        OpenApiInfo info, string schemeName, OpenApiSecurityScheme scheme)
    {
        options.ShouldInclude = include;
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = info;
            document.AddComponent(schemeName, scheme);
            document.AddComponent(ErrorResponses.EnvelopeSchema, ErrorResponses.Envelope);
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(ErrorResponses.DescribeAsync);
        options.AddOperationTransformer(Examples.AddAsync);
        options.AddOperationTransformer(CsvAnswers.DescribeAsync);
        options.AddSchemaTransformer(WireSchemas.CorrectAsync);
        return options;
    }
}
