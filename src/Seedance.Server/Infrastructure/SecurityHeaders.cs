namespace Seedance.Server.Infrastructure;

/// <summary>
/// What every answer says for the browser's sake: its content type is to be believed (<c>X-Content-Type-Options:
/// nosniff</c>: a result file or a JSON answer is never run as a script). The server names no software (Kestrel's
/// <c>Server</c> header is off), answers no cross-origin request (no CORS policy), and asks for HTTPS from then on
/// when it is reached over HTTPS (HSTS).
/// </summary>
public static class SecurityHeaders
{
    public static Task AddAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return next(context);
    }
}
