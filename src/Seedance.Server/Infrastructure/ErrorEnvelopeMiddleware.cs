namespace Seedance.Server.Infrastructure;

/// <summary>
/// The one place where failures become the wire envelope: no stack traces. The console's pages (not its API calls) answer the
/// same error, with the same status and code, as an HTML page instead (<see cref="WebConsole.ConsolePages.IsPage"/>).
/// </summary>
public sealed class ErrorEnvelopeMiddleware(RequestDelegate next, ILogger<ErrorEnvelopeMiddleware> logger, IEnumerable<IServiceOutage> outages)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiError error)
        {
            await WriteAsync(context, error);
            return;
        }
        catch (Providers.ProviderException error) when (!error.UserFault)
        {
            logger.LogWarning(error, "Upstream trouble on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, ApiError.ServiceBusy());
            return;
        }
        catch (BadHttpRequestException error)
        {
            await WriteAsync(context, error.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? ApiError.BodyTooLarge()
                : ApiError.InvalidParameter("request is malformed"));
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception error) when (outages.Recognise(error) is { } what)
        {
            // A client should retry, as after any SERVICE_BUSY; the outage is logged without its stack, which says nothing more.
            logger.LogWarning("Service busy on {Method} {Path}: {What} ({Error})", context.Request.Method, context.Request.Path, what, error.GetBaseException().Message);
            if (!context.Response.HasStarted) context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, ApiError.Unavailable(what));
            return;
        }
        catch (Exception error)
        {
            logger.LogError(error, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, ApiError.Internal());
            return;
        }

        if (context.Response.HasStarted || context.Response.StatusCode < 400) return;
        await WriteAsync(context, ForBareStatus(context));
    }

    private static Task WriteAsync(HttpContext context, ApiError error)
    {
        if (!WebConsole.ConsolePages.IsPage(context.Request.Path) || context.Response.HasStarted) return Envelope.WriteErrorAsync(context, error);
        context.Features.Set(new AnsweredError(error.Code));
        return WebConsole.ConsolePages.Error(context, error.Status, error.Code, error.Message).ExecuteAsync(context);
    }

    private static ApiError ForBareStatus(HttpContext context) => context.Response.StatusCode switch
    {
        401 => ApiError.InvalidApiKey(),
        404 => ApiError.NotFound($"{context.Request.Method} {context.Request.Path}"),
        405 => ApiError.MethodNotAllowed($"{context.Request.Method} {context.Request.Path}"),
        413 => ApiError.BodyTooLarge(),
        415 => ApiError.NotJson(),
        429 => ApiError.RateLimited(),
        var status when status < 500 => new ApiError(status, "INVALID_PARAMETER", "Invalid parameter: request refused"),
        var status => new ApiError(status, "INTERNAL_ERROR", "Internal error"),
    };
}
