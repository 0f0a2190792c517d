using System.Reflection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;
using Seedance.Server.Uploads;

namespace Seedance.Server.WebConsole;

/// <summary>
/// The web console at <c>/console</c>: server-rendered pages (Razor components, static rendering), a stylesheet and two small
/// scripts. Everything it needs (the session, antiforgery, the Content-Security-Policy) is endpoint metadata and filters of
/// its own route group: the API's routes run no more code per request than before, and nothing of the console is made
/// before its first request.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Root = "/console";
    public const string AntiforgeryHeader = "X-CSRF-Token";
    public const string CustomerPolicy = "console-customer", OperatorPolicy = "console-operator";

    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddRazorComponents();
        services.AddAuthentication().AddConsoleSession();
        services.AddAuthorizationBuilder()
            .AddPolicy(CustomerPolicy, p => p.AddAuthenticationSchemes(ConsoleSession.Scheme).RequireRole(ConsoleUser.Customer))
            .AddPolicy(OperatorPolicy, p => p.AddAuthenticationSchemes(ConsoleSession.Scheme).RequireRole(ConsoleUser.Operator))
            .AddPolicy(SignInEndpoints.AnyPolicy, p => p.AddAuthenticationSchemes(ConsoleSession.Scheme).RequireRole(ConsoleUser.Customer, ConsoleUser.Operator));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "sd2_csrf";
            o.Cookie.Path = Root;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.HeaderName = AntiforgeryHeader;
            o.FormFieldName = "__csrf";
        });
        // Sessions and antiforgery tokens open on every node: sealed under a key derived from the shared signing key.
        services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(sp =>
            new DerivedDataProtectionProvider(sp.GetRequiredService<UrlSigner>().DeriveKey("console-data-protection"))));
        services.AddSingleton<ConsoleHeaders>();
        services.AddSingleton<DailyUsage>();
        services.AddOptions<Microsoft.AspNetCore.RateLimiting.RateLimiterOptions>().Configure<IOptions<SeedanceOptions>>((o, seedance) =>
            o.AddPolicy(SignInLimit.Policy, new SignInLimit(seedance.Value.Auth.ConsoleSignInsPerMinute)));
        return services;
    }

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        var console = app.MapGroup(Root).ExcludeFromDescription().DisableAntiforgery() // checked by the filter, for forms and scripts alike
            .AddEndpointFilter(ConsoleFilter.Pages);
        console.MapGet("/assets/{name}", Asset);
        console.Map("{**rest}", (HttpContext http) => ConsolePages.Error(http, StatusCodes.Status404NotFound, "NOT_FOUND", null)); // a page, not the API's envelope
        console.MapSignIn();

        var customer = console.MapGroup("").RequireAuthorization(CustomerPolicy);
        customer.MapCustomerPages();

        var admin = console.MapGroup("/admin").RequireAuthorization(OperatorPolicy);
        admin.MapOperatorPages();

        // The console's scripts call the API itself, under the console's session instead of a key: the same endpoints, the
        // same checks, prices and answers. The session sets the caller (ConsoleSession.ValidateAsync) and the per-key rate
        // limit applies as to the key's own requests.
        var api = app.MapGroup(Root + "/api/v1/video").ExcludeFromDescription().DisableAntiforgery()
            .RequireAuthorization(CustomerPolicy)
            .RequireRateLimiting(Auth.KeyRateLimiting.Policy)
            .AddEndpointFilter(ConsoleFilter.Api);
        // No more of the API than the scripts call (playground.js): the quote, an upload's presigned URL, the submission and the
        // task's event stream, with the API's own handlers. Cancelling, listing and deleting are the pages' forms; the webhook
        // secret is shown by its page alone.
        api.MapPost("/quote", TaskSubmission.QuoteAsync);
        api.MapUploads();
        api.MapPost("/task", TaskSubmission.SubmitAsync);
        api.MapTaskWatching();
        api.Map("{**rest}", (HttpContext http) => { throw ApiError.NotFound($"{http.Request.Method} {http.Request.Path}"); }); // the envelope, as the API answers
        // The API's own routes keep their names (link generation and the API documents know those alone).
        ((IEndpointConventionBuilder)api).Finally(e =>
        {
            foreach (var name in e.Metadata.Where(m => m is IEndpointNameMetadata or IRouteNameMetadata).ToList()) e.Metadata.Remove(name);
        });
    }

    private static readonly Dictionary<string, string> AssetTypes = new()
    {
        ["console.css"] = "text/css; charset=utf-8", ["console.js"] = "text/javascript; charset=utf-8",
        ["playground.js"] = "text/javascript; charset=utf-8", ["favicon.svg"] = "image/svg+xml",
    };

    private static IResult Asset(string name)
    {
        if (!AssetTypes.TryGetValue(name, out var type)) return Results.NotFound();
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("WebConsole.Assets." + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
