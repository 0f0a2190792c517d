using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Seedance.Client.Http;

/// <summary>
/// Retries of transient failures: connection errors, 408, 429 and 5xx, with exponential backoff and jitter,
/// waiting what a <c>Retry-After</c> asks. Requests are resent as they were, so a create keeps its Idempotency-Key.
/// </summary>
internal static class Retries
{
    public static HttpRetryStrategyOptions Strategy(SeedanceClientOptions options) => new()
    {
        MaxRetryAttempts = Math.Max(options.MaxRetries, 1),
        Delay = options.RetryDelay,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        ShouldRetryAfterHeader = true,
        MaxDelay = TimeSpan.FromMinutes(2),
        ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && IsTransient(args.Outcome, args.Context.CancellationToken)),
    };

    public static ResiliencePipeline<HttpResponseMessage> Pipeline(SeedanceClientOptions options) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>().AddRetry(Strategy(options)).Build();

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken ct) => outcome switch
    {
        { Exception: HttpRequestException } => true,
        { Exception: OperationCanceledException } => false,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500,
        _ => false,
    };
}
