using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Seedance.Server.WebConsole;

/// <summary>
/// Sign-in attempts per client address (as the server sees it: the connection's, or a trusted proxy's X-Forwarded-For),
/// with ASP.NET Core's rate limiter: <c>Seedance:Auth:ConsoleSignInsPerMinute</c> (10) a minute, whether they succeed or
/// not, so a key or the admin token cannot be guessed through the console faster than through the API. The refusal is a
/// page, not the API's envelope.
/// </summary>
public sealed class SignInLimit(int perMinute) : IRateLimiterPolicy<string>
{
    public const string Policy = "console-sign-in";

    public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
        RateLimitPartition.GetFixedWindowLimiter(httpContext.Connection.RemoteIpAddress?.ToString() ?? "", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true,
        });

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => (context, _) =>
    {
        context.HttpContext.Response.Headers.RetryAfter = "60";
        return new ValueTask(ConsolePages.Error(context.HttpContext, StatusCodes.Status429TooManyRequests, "SIGN_IN_THROTTLED", null)
            .ExecuteAsync(context.HttpContext));
    };
}
