using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Seedance.Client;
using Polly;
using Seedance.Client.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="SeedanceClient"/> with <c>IHttpClientFactory</c>.</summary>
public static class SeedanceServiceCollectionExtensions
{
    /// <summary>The name of the client's <see cref="HttpClient"/> in <c>IHttpClientFactory</c>, to add handlers to it.</summary>
    public const string HttpClientName = "Seedance";

    /// <summary>
    /// Registers <see cref="SeedanceClient"/> over a named HTTP client of <c>IHttpClientFactory</c>, its settings bound from the
    /// <c>Seedance</c> section of <paramref name="configuration"/> (<c>Seedance:ApiKey</c>, <c>Seedance:BaseUrl</c>, ...)
    /// and its retries (connection errors, 429, 5xx, <c>Retry-After</c>) in the HTTP pipeline.
    /// </summary>
    public static IHttpClientBuilder AddSeedanceClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddSeedanceClient(options => configuration.GetSection(SeedanceClientOptions.Section).Bind(options));
    }

    /// <summary>Registers <see cref="SeedanceClient"/> over <c>IHttpClientFactory</c> with settings made in code.</summary>
    public static IHttpClientBuilder AddSeedanceClient(this IServiceCollection services, Action<SeedanceClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SeedanceClientOptions>().Configure(configure);
        services.AddTransient(provider => new SeedanceClient(
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), provider.GetRequiredService<IOptions<SeedanceClientOptions>>()));
        var builder = services.AddHttpClient(HttpClientName);
        builder.ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan);
        builder.AddResilienceHandler("seedance-retries", (pipeline, context) =>
            pipeline.AddRetry(Retries.Strategy(context.ServiceProvider.GetRequiredService<IOptions<SeedanceClientOptions>>().Value)));
        return builder;
    }
}
