using FFMpegCore;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Billing;
using Seedance.Server.Callbacks;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Dispatch;
using Seedance.Server.Infrastructure;
using Seedance.Server.Keys;
using Seedance.Server.Nodes;
using Seedance.Server.OpenApi;
using Seedance.Server.Operations;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Providers;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;
using Seedance.Server.Uploads;
using Seedance.Server.Usage;
using Seedance.Server.WebConsole;

namespace Seedance.Server;

/// <summary>The wiring of the service, one short block per concern; used by Program and by the tests.</summary>
public static class SeedanceApp
{
    public const long MaxJsonBody = 2 * 1024 * 1024;

    /// <param name="configureServices">Last word on the services (tests put in a fake clock).</param>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        // appsettings.json sits beside the binary: found from any working directory (the data directory stays relative to it).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddSeedanceTelemetry(); // logs, metrics (/metrics) and traces (OTLP, when configured)
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxJsonBody;
            k.AddServerHeader = false;
        });
        builder.Services.AddSeedanceCore(builder.Configuration);

        builder.Services.AddHttpContextAccessor();
        builder.Services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
        builder.Services.AddAuthentication()
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, AdminAuthenticationHandler>(AdminAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddKeyRateLimiting(SeedanceOptions.From(builder.Configuration));
        builder.Services.AddSeedanceHealth();
        builder.Services.AddApiDocuments(); // /openapi/v1.json (the public API) and /openapi/admin.json
        builder.Services.AddConsole(); // /console: its session, antiforgery and pages, made on its first request

        builder.Services.AddSingleton<TerminalTaskCache>();
        builder.Services.AddSingleton<WatchLimit>();
        builder.Services.AddSingleton<AuthFailureThrottle>();
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in SeedanceOptions.From(builder.Configuration).TrustedProxies)
                o.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(proxy, out var network) ? network
                    : new System.Net.IPNetwork(System.Net.IPAddress.Parse(proxy), System.Net.IPAddress.Parse(proxy).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
        });
        builder.Services.AddSingleton<SandboxProvider>();
        builder.Services.AddSingleton<ChannelPool>();
        builder.Services.AddSingleton<Reconciliation>();
        builder.Services.AddWorker<ChannelRefresher>();
        builder.Services.AddHostedService<LeaseKeeper>(); // before the workers: stopped after them, it gives up their leases last
        builder.Services.AddWorker<Dispatcher>(start: SeedanceOptions.From(builder.Configuration).Tasks.Dispatch);
        builder.Services.AddSingleton<ThumbnailRenderer>();
        builder.Services.AddWorker<Tracker>();
        builder.Services.AddHostedService<KeyCacheRefresher>();
        builder.Services.AddWorker<Housekeeping>();
        builder.Services.AddWorker<WebhookDispatcher>();
        builder.Services.AddWorker<NodeRelay>();
        builder.Services.AddWorker<TaskTimings>(); // seeds the estimates' history from the last completions
        builder.Services.AddWorker<RequestLog>(); // writes the API requests' summaries in batches, off the request path
        builder.Services.AddScoped<WebhookLog>(); // it wakes the callback sender, which only the server runs
        // What hears of a task's change once it committed, in this order: its watchers, the workers, and last the
        // other nodes (a NOTIFY is a round trip to PostgreSQL; nothing here waits for it).
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<TerminalTaskCache>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<TaskEvents>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<Dispatcher>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<Tracker>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<WebhookDispatcher>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<TaskTimings>());
        builder.Services.AddSingleton<TaskMetrics>();
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<TaskMetrics>());
        builder.Services.AddSingleton<ITaskObserver>(sp => sp.GetRequiredService<NodeRelay>());

        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        // The client's own address and scheme, as a trusted proxy forwards them (none by default: the connection's).
        if (SeedanceOptions.From(builder.Configuration).TrustedProxies.Length > 0) app.UseForwardedHeaders();
        app.UseMetricsPort();
        app.UseMiddleware<RequestLogging>(); // X-Request-Id on every answer; the summary of every API request, as answered
        app.Use(SecurityHeaders.AddAsync);
        if (!app.Environment.IsDevelopment()) app.UseHsts();
        app.UseMiddleware<ErrorEnvelopeMiddleware>();
        app.UseMetricsPortGuard();
        app.UseMiddleware<ApiKeyCheck>(); // the API's key, before the rate limit that is per key
        // The operator's token: the admin endpoints' policies name its scheme, and authorization authenticates
        // it for them alone. No UseAuthentication: as the only scheme it would be the default and run on every poll.
        app.UseAuthorization();
        app.UseRateLimiter();

        var api = app.MapGroup("/api/v1/video")
            .WithMetadata(ApiKeyRequired.Instance)
            .RequireRateLimiting(KeyRateLimiting.Policy);
        api.MapUploads();
        api.MapTasks();
        api.MapModels();
        api.MapBalance();
        api.MapWebhooks();
        api.MapUsage();
        api.MapRequestLog();
        if (app.Services.GetRequiredService<FileStore>() is LocalFileStore) app.MapFileStore();
        app.MapAdmin();
        app.MapChannelAdmin();
        app.MapWebhookAdmin();
        app.MapUsageAdmin();
        app.MapRequestLogAdmin();
        app.MapUpstreamCallbacks();
        app.MapHealth();
        app.MapMetrics();
        app.MapOpenApi();
        app.MapConsole();
        return app;
    }

    /// <summary>What the server and the command line share: options, database, storage, keys, tasks.</summary>
    public static IServiceCollection AddSeedanceCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SeedanceOptions>().BindConfiguration(SeedanceOptions.Section)
            .Configure(o => o.Database.ConnectionString = SeedanceOptions.ConnectionString(configuration, o)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SeedanceOptions>, SeedanceOptionsValidator>();
        services.AddSingleton<IValidateOptions<SeedanceOptions>, ModelCatalogueValidator>();
        services.AddSingleton(sp => ModelCatalogue.From(sp.GetRequiredService<IOptions<SeedanceOptions>>().Value));
        var options = SeedanceOptions.From(configuration);
        services.AddMetrics();
        services.AddSingleton<SeedanceMetrics>();
        services.AddSeedanceDb(options);
        services.AddSingleton(TimeProvider.System);
        services.AddMemoryCache();
        services.AddSingleton<ApiKeyDirectory>();
        services.AddSingleton<AdminToken>();
        services.AddSingleton<UrlSigner>();
        if (options.Storage.IsS3) services.AddSingleton<FileStore, S3FileStore>();
        else services.AddSingleton<LocalFileStore>().AddSingleton<FileStore>(sp => sp.GetRequiredService<LocalFileStore>());
        services.AddSingleton<IServiceOutage, StoreOutage>();
        services.AddSingleton<PublicLinks>();
        services.AddSingleton<TaskResults>();
        services.AddHttpContextAccessor();
        services.AddSingleton<ICallbackBody, TaskCallbackBody>();
        services.AddSingleton<TaskEvents>();
        services.AddSingleton<NodeIdentity>();
        services.AddScoped<KeyAdministration>();
        services.AddSingleton<SecretBox>();
        services.AddScoped<ChannelAdministration>();
        services.AddScoped<WebhookSecrets>();
        services.AddSingleton(sp => new FFOptions
        {
            BinaryFolder = sp.GetRequiredService<IOptions<SeedanceOptions>>().Value.Sandbox.FfmpegPath ?? "",
            TemporaryFilesFolder = Path.GetTempPath(),
        });
        services.AddSingleton<SandboxRenderer>();
        return services;
    }

    /// <summary>A background worker, as one instance that others can reach (to wake it, or as an observer); started unless <paramref name="start"/> is false.</summary>
    private static void AddWorker<T>(this IServiceCollection services, bool start = true) where T : class, IHostedService
    {
        services.AddSingleton<T>();
        if (start) services.AddHostedService(sp => sp.GetRequiredService<T>());
    }

    /// <summary>Validates options, applies migrations and settles the admin token before anything listens.</summary>
    public static async Task PrepareAsync(this IHost app, CancellationToken ct = default)
    {
        _ = app.Services.GetRequiredService<IOptions<SeedanceOptions>>().Value;
        await DatabaseSetup.MigrateAsync(app.Services, ct);
        await app.Services.GetRequiredService<LeaseStore>().ExpirePreviousLifeAsync(app.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime, ct);
        if (app.Services.GetService<ChannelPool>() is { } channels)
        {
            await channels.ReloadAsync(ct); // the stored channels, before anything dispatches
            // A model no channel serves is refused at submission (SERVICE_BUSY) until a channel that serves it is added.
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChannelPool));
            foreach (var model in app.Services.GetRequiredService<ModelCatalogue>().Models.Where(m => !channels.Serves(m.Name)))
                log.LogWarning("Model {Model} is served by no channel: its submissions are refused until a channel maps it " +
                    "(Seedance:Channels:N:Models:{Model}=<upstream model id>, or a channel added with the admin API)", model.Name, model.Name);
        }
        // Redis (the shared rate limit) connects now, before anything listens: made on the first request instead, it held
        // that request for the connection and the first requests fell back to the node's own limit while it connected.
        _ = app.Services.GetService<StackExchange.Redis.IConnectionMultiplexer>();
        _ = app.Services.GetRequiredService<AdminToken>();
        _ = app.Services.GetRequiredService<UrlSigner>();
        await app.Services.GetRequiredService<FileStore>().CheckAsync(ct);
        await using var scope = app.Services.CreateAsyncScope();
        await PricePlanCheck.WarnOfUnknownPlansAsync(app.Services.GetRequiredService<ModelCatalogue>(), scope.ServiceProvider.GetRequiredService<SeedanceDb>(),
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PricePlanCheck)), ct);
    }
}
