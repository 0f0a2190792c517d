using System.Globalization;
using System.Text.RegularExpressions;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>One model as it is offered: what a submission may ask of it, and its prices in credits per second of video.</summary>
public sealed record ModelEntry(
    string Name, IReadOnlyDictionary<string, decimal> Prices, string DefaultResolution, IReadOnlyList<string> Ratios,
    int MinDuration, int MaxDuration, int DefaultDuration, bool Audio)
{
    /// <summary>The ratio when a submission names none: the document's 16:9 when offered, else the first.</summary>
    public string DefaultRatio => Ratios.Contains("16:9") ? "16:9" : Ratios[0];

    /// <summary>The resolutions offered, lowest first.</summary>
    public IReadOnlyList<string> Resolutions { get; } = Prices.Keys.OrderBy(ModelCatalogue.Lines).ToList();

}

/// <summary>A price plan: the prices it sets by model and resolution, and the multiplier of every other list price.</summary>
public sealed record PricePlan(string Name, decimal Multiplier, IReadOnlyDictionary<(string Model, string Resolution), decimal> Prices);

/// <summary>
/// The models this server offers and their prices: the document's table (<see cref="Document"/>), with what the operator
/// set under <c>Seedance:Models</c> laid over it. Submissions are validated against it and priced by it.
/// </summary>
public sealed partial class ModelCatalogue
{
    public const string Standard = "seedance-2.0";
    public const string Fast = "seedance-2.0-fast";
    public static readonly string[] DocumentRatios = ["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"];

    /// <summary>The document's catalogue: both models at 480p, 720p and 1080p, 4-15 s (default 5), audio offered.</summary>
    public static readonly IReadOnlyList<ModelEntry> Document =
    [
        new(Standard, new Dictionary<string, decimal> { ["480p"] = 0.9m, ["720p"] = 1.8m, ["1080p"] = 4.5m }, "720p", DocumentRatios, 4, 15, 5, true),
        new(Fast, new Dictionary<string, decimal> { ["480p"] = 0.72m, ["720p"] = 1.44m, ["1080p"] = 3.312m }, "720p", DocumentRatios, 4, 15, 5, true),
    ];

    private readonly Dictionary<string, ModelEntry> _byName;

    public ModelCatalogue(IReadOnlyList<ModelEntry> models, string defaultModel, IReadOnlyList<PricePlan>? plans = null)
    {
        Plans = (plans ?? []).ToDictionary(p => p.Name, StringComparer.Ordinal);
        Models = models;
        Names = models.Select(m => m.Name).ToList();
        _byName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
        Default = _byName[defaultModel];
    }

    /// <summary>The models offered, in the order of the document, then the operator's in the order of their names.</summary>
    public IReadOnlyList<ModelEntry> Models { get; }

    /// <summary>The names of <see cref="Models"/>, in their order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The model of a submission that names none.</summary>
    public ModelEntry Default { get; }

    public ModelEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The price plans keys may be given, by name.</summary>
    public IReadOnlyDictionary<string, PricePlan> Plans { get; }

    /// <summary>
    /// Credits per second of <paramref name="model"/> at <paramref name="resolution"/> for a key on <paramref name="plan"/>:
    /// the plan's own price, else the list price times its multiplier, to four decimals. No plan, or one no longer
    /// configured, is the list price.
    /// </summary>
    public decimal Price(ModelEntry model, string resolution, string? plan)
    {
        var list = model.Prices[resolution];
        if (plan is null || !Plans.TryGetValue(plan, out var p)) return list;
        return p.Prices.TryGetValue((model.Name, resolution), out var set) ? set : decimal.Round(list * p.Multiplier, 4, MidpointRounding.AwayFromZero);
    }

    /// <summary>What <paramref name="duration"/> seconds cost at <paramref name="pricePerSecond"/>: to the cent, half away from zero.</summary>
    public static decimal Cost(decimal pricePerSecond, int duration) => Credits.Round(pricePerSecond * duration);

    /// <summary>The price per second and the cost of a task, as a key on <paramref name="plan"/> is quoted and charged (the one place both come from).</summary>
    public (decimal PricePerSecond, decimal Cost) Charge(string model, string resolution, int duration, string? plan)
    {
        var price = Price(Find(model)!, resolution, plan);
        return (price, Cost(price, duration));
    }

    /// <summary>The highest price per second and plan multiplier accepted: far above any real price, and far below what the stored amounts can hold.</summary>
    public const decimal MaxPrice = 1_000_000m, MaxMultiplier = 1_000m;

    /// <summary>The catalogue of valid options (<see cref="Build"/> reports what is wrong, and the options validator refuses to start).</summary>
    public static ModelCatalogue From(SeedanceOptions options)
    {
        var errors = new List<string>();
        var models = Build(options, errors);
        var plans = BuildPlans(options, models, errors);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        return new ModelCatalogue(models, options.DefaultModel, plans);
    }

    /// <summary>The price plans of <paramref name="options"/> over <paramref name="models"/>; each mistake named in <paramref name="errors"/>.</summary>
    public static List<PricePlan> BuildPlans(SeedanceOptions options, IReadOnlyList<ModelEntry> models, List<string> errors)
    {
        var plans = new List<PricePlan>();
        foreach (var (name, set) in options.PricePlans.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var at = $"Seedance:PricePlans:{name}";
            if (!ModelName().IsMatch(name)) { errors.Add($"{at}: a plan name is 1-64 lowercase letters, digits, '.', '-' or '_'"); continue; }
            var multiplier = set.Multiplier ?? 1m;
            if (multiplier < 0 || multiplier > MaxMultiplier || decimal.Round(multiplier, 4) != multiplier) errors.Add($"{at}:Multiplier must be 0-{MaxMultiplier:0}, with at most 4 decimals");
            var prices = new Dictionary<(string, string), decimal>();
            foreach (var (model, byResolution) in set.Prices)
            {
                if (models.FirstOrDefault(m => m.Name == model) is not { } offered) { errors.Add($"{at}:Prices:{model}: not a model offered (Seedance:Models)"); continue; }
                foreach (var (resolution, price) in byResolution)
                {
                    if (!offered.Prices.ContainsKey(resolution)) errors.Add($"{at}:Prices:{model}:{resolution}: {model} is not offered at {resolution}");
                    else if (price < 0 || price > MaxPrice || decimal.Round(price, 4) != price) errors.Add($"{at}:Prices:{model}:{resolution} must be 0-{MaxPrice:0}, with at most 4 decimals");
                    else prices[(model, resolution)] = price;
                }
            }
            plans.Add(new PricePlan(name, multiplier, prices));
        }
        return plans;
    }

    /// <summary>The document's models with the operator's settings laid over them, and the operator's own; each mistake named in <paramref name="errors"/>.</summary>
    public static List<ModelEntry> Build(SeedanceOptions options, List<string> errors)
    {
        var models = new List<ModelEntry>();
        var configured = options.Models;
        foreach (var name in Document.Select(m => m.Name).Concat(configured.Keys.Where(k => Document.All(m => m.Name != k)).Order(StringComparer.Ordinal)))
        {
            var set = configured.GetValueOrDefault(name);
            var at = $"Seedance:Models:{name}";
            if (set?.Enabled == false) continue;
            var known = Document.FirstOrDefault(m => m.Name == name);
            if (!ModelName().IsMatch(name)) { errors.Add($"{at}: a model name is 1-64 lowercase letters, digits, '.', '-' or '_'"); continue; }
            if (known is null && (set is null || set.Prices.Count == 0)) { errors.Add($"{at}:Prices must price at least one resolution (e.g. {at}:Prices:720p=1.8)"); continue; }

            var prices = new Dictionary<string, decimal>(known?.Prices ?? new Dictionary<string, decimal>());
            foreach (var (resolution, price) in set?.Prices ?? [])
            {
                if (!ResolutionName().IsMatch(resolution)) errors.Add($"{at}:Prices:{resolution}: a resolution is written like 720p");
                else if (price < 0 || price > MaxPrice || decimal.Round(price, 4) != price) errors.Add($"{at}:Prices:{resolution} must be 0-{MaxPrice:0}, with at most 4 decimals");
                else prices[resolution] = price;
            }
            if (prices.Count == 0) continue;
            var ratios = set?.Ratios ?? known?.Ratios.ToArray() ?? DocumentRatios;
            foreach (var ratio in ratios.Where(r => !RatioName().IsMatch(r))) errors.Add($"{at}:Ratios: '{ratio}' is not a ratio like 16:9");
            if (ratios.Length == 0 || ratios.Distinct().Count() != ratios.Length) errors.Add($"{at}:Ratios must name at least one ratio, each once");
            var min = set?.MinDuration ?? known?.MinDuration ?? 4;
            var max = set?.MaxDuration ?? known?.MaxDuration ?? 15;
            var duration = set?.DefaultDuration ?? known?.DefaultDuration ?? Math.Clamp(5, min, max);
            if (min < 1 || max > 3600 || min > max) errors.Add($"{at}: MinDuration and MaxDuration must be 1-3600 seconds, the first no more than the second");
            else if (duration < min || duration > max) errors.Add($"{at}:DefaultDuration must be {min}-{max}");
            var defaultResolution = set?.DefaultResolution ?? (known is not null && prices.ContainsKey(known.DefaultResolution) ? known.DefaultResolution
                : prices.ContainsKey("720p") ? "720p" : prices.Keys.OrderBy(Lines).First());
            if (!prices.ContainsKey(defaultResolution)) errors.Add($"{at}:DefaultResolution '{defaultResolution}' is not priced under {at}:Prices");
            models.Add(new ModelEntry(name, prices, defaultResolution, ratios, min, max, duration, set?.Audio ?? known?.Audio ?? true));
        }
        if (models.Count == 0) errors.Add("Seedance:Models: at least one model must be offered");
        else if (models.All(m => m.Name != options.DefaultModel))
            errors.Add($"Seedance:DefaultModel '{options.DefaultModel}' is not a model offered (Seedance:Models)");
        return models;
    }

    /// <summary>The lines of a resolution (720 for 720p), to order them.</summary>
    public static int Lines(string resolution) => int.Parse(resolution.AsSpan(0, resolution.Length - 1), CultureInfo.InvariantCulture);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ModelName();

    [GeneratedRegex("^[1-9][0-9]{2,3}p$")]
    private static partial Regex ResolutionName();

    [GeneratedRegex("^[1-9][0-9]?:[1-9][0-9]?$")]
    private static partial Regex RatioName();
}
