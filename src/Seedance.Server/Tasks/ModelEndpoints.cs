using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>The catalogue as callers see it, and what a submission would cost before it is made.</summary>
public static class ModelEndpoints
{
    public sealed record DurationRange(int Min, int Max, int Default);

    public sealed record ModelView(
        string Model, bool Default, IReadOnlyList<string> Resolutions, string DefaultResolution, IReadOnlyList<string> Ratios, string DefaultRatio,
        DurationRange Duration, bool Audio, [property: JsonConverter(typeof(Json.ExactPricesConverter))] IReadOnlyDictionary<string, decimal> Prices);

    public sealed record ModelList(IReadOnlyList<ModelView> Data);

    public static void MapModels(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("").WithTags("Models");
        api.MapGet("/models", (HttpContext context, ModelCatalogue catalogue) => Envelope.Ok(List(catalogue, context.Caller().PricePlan))).WithName("ListModels")
            .WithSummary("The models offered: resolutions, ratios, durations, audio, and the calling key's prices in credits per second of video")
            .Produces<Envelope<ModelList>>();
        api.MapPost("/quote", TaskSubmission.QuoteAsync).WithName("QuoteTask")
            .WithSummary("What a submission of this body would cost, checked as a submission is; nothing is created or reserved")
            .Accepts<VideoTaskRequest>("application/json")
            .Produces<Envelope<TaskSubmission.Quote>>()
            .ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER", "SERVICE_BUSY");
    }

    internal static ModelList List(ModelCatalogue catalogue, string? plan) => new(catalogue.Models.Select(m => new ModelView(
        m.Name, m == catalogue.Default, m.Resolutions, m.DefaultResolution, m.Ratios, m.DefaultRatio,
        new DurationRange(m.MinDuration, m.MaxDuration, m.DefaultDuration), m.Audio,
        m.Resolutions.ToDictionary(r => r, r => catalogue.Price(m, r, plan)))).ToList());
}

/// <summary>The catalogue's settings (<c>Seedance:Models</c>, <c>Seedance:DefaultModel</c>) refused at start with each mistake named.</summary>
public sealed class ModelCatalogueValidator : IValidateOptions<SeedanceOptions>
{
    public ValidateOptionsResult Validate(string? name, SeedanceOptions options)
    {
        var errors = new List<string>();
        var models = ModelCatalogue.Build(options, errors);
        ModelCatalogue.BuildPlans(options, models, errors);
        // A model no configured channel serves may be served by a channel of the database (the admin API adds them at
        // runtime): a submission of a model no channel serves at that moment is refused then, with SERVICE_BUSY.
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
