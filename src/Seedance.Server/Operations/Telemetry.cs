using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Operations;

/// <summary>
/// Metrics, traces and logs. Metrics: the server's own meter (<see cref="SeedanceMetrics"/>), ASP.NET Core's, HttpClient's
/// and the runtime's, scraped by Prometheus at <c>GET /metrics</c> (admin token, or a port of its own without one) and
/// pushed over OTLP when an endpoint is configured. Traces: the spans of each task's life (<see cref="SeedanceTracing"/>),
/// with the outgoing HTTP calls under them and the incoming requests that change something, exported over OTLP; off
/// unless configured. Logs: on the console, one line each (or JSON, <c>Logging:Console:FormatterName=json</c>), with
/// their scopes (a task's id, the trace's id).
/// </summary>
public static class Telemetry
{
    public const string ScrapePath = "/metrics";

    public static WebApplicationBuilder AddSeedanceTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var options = SeedanceOptions.From(configuration);
        // One line each unless Logging:Console:FormatterName says otherwise (json). Named, so the formatter's own options
        // apply: without a name the console logger takes them from its obsolete settings instead.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName ??= ConsoleFormatterNames.Simple);
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.IncludeScopes = true;
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.IncludeScopes = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "seedance-server"));
        if (options.Metrics.Enabled)
            otel.WithMetrics(metrics =>
            {
                // ASP.NET Core's own instruments: requests (duration, in flight) and Kestrel's connections. Not the routing,
                // diagnostics and rate-limiting meters, which record per request what the request duration already tells.
                metrics.AddMeter(SeedanceMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    // Each instrument's series are kept in an array the size of its cardinality limit, made up front: the
                    // default of 2,000 costs about 10 MB across the instruments, for series most never have.
                    .AddView(instrument => CardinalityLimit(instrument) is { } limit ? new MetricStreamConfiguration { CardinalityLimit = limit } : null)
                    // Every scrape collects afresh: one collection per scrape is cheap, and a cached answer would hide a change just made.
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                if (OtlpConfigured(configuration, "METRICS")) metrics.AddOtlpExporter();
            });
        if (options.Tracing.Enabled ?? OtlpConfigured(configuration, "TRACES"))
            otel.WithTracing(tracing =>
            {
                tracing.AddSource(SeedanceTracing.SourceName)
                    // Requests that change something (a submission, a cancel, an upload, the admin API); not the reads, which at
                    // tens of thousands of polls a second would cost more to record and export than they tell.
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
                    .AddHttpClientInstrumentation();
                if (OtlpConfigured(configuration, "TRACES")) tracing.AddOtlpExporter();
            });

        if (options.Metrics.Enabled && options.Metrics.Port is { } port)
        {
            // The metrics port is added to the addresses the server listens on (the standard --urls, else ASPNETCORE_HTTP_PORTS).
            var urls = configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } set ? set
                : configuration["HTTP_PORTS"] is { Length: > 0 } ports ? string.Join(';', ports.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => $"http://*:{p}"))
                : "http://localhost:5000";
            builder.WebHost.UseUrls($"{urls};http://*:{port}");
        }
        return builder;
    }

    /// <summary>
    /// The Prometheus endpoints, first in the pipeline: on the metrics port, <c>/metrics</c> without authentication and nothing
    /// else; on the API's addresses, <c>/metrics</c> for the admin token (<see cref="MapMetrics"/>).
    /// </summary>
    public static void UseMetricsPort(this WebApplication app)
    {
        var options = SeedanceOptions.From(app.Configuration).Metrics;
        if (!options.Enabled) return;
        // The gauge of current task counts is made with its observer; made now, it is there from the first scrape.
        _ = app.Services.GetRequiredService<TaskMetrics>();
        if (options.Port is not { } port) return;
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null, predicate: c => c.Connection.LocalPort == port && c.Request.Path == ScrapePath, path: null, configureBranchedPipeline: null, optionsName: null);
    }

    /// <summary>Refuses anything but <c>/metrics</c> on the metrics port (after the error envelope, which words the 404).</summary>
    public static void UseMetricsPortGuard(this WebApplication app)
    {
        var options = SeedanceOptions.From(app.Configuration).Metrics;
        if (!options.Enabled || options.Port is not { } port) return;
        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort != port) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    public static void MapMetrics(this WebApplication app)
    {
        if (!SeedanceOptions.From(app.Configuration).Metrics.Enabled) return;
        app.MapPrometheusScrapingEndpoint(ScrapePath).RequireAdminToken();
    }

    /// <summary>
    /// The most series an instrument keeps (more are counted under <c>otel_metric_overflow</c>): the runtime's and Kestrel's
    /// carry a few tags of few values; the server's own carry models, resolutions, statuses, error codes and channels. ASP.NET
    /// Core's requests (method, route, status) and HttpClient's (host, method, status) keep the default of 2,000.
    /// </summary>
    private static int? CardinalityLimit(System.Diagnostics.Metrics.Instrument instrument) => instrument.Meter.Name switch
    {
        "System.Runtime" or "Microsoft.AspNetCore.Server.Kestrel" => 100,
        SeedanceMetrics.MeterName => 500,
        _ => null,
    };

    /// <summary>Whether an OTLP endpoint is configured for the signal (<c>TRACES</c>, <c>METRICS</c>), by the standard variables.</summary>
    private static bool OtlpConfigured(IConfiguration configuration, string signal) =>
        !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrEmpty(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);
}
