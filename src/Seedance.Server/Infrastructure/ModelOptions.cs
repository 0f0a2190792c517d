namespace Seedance.Server.Infrastructure;

/// <summary>
/// One model of the operator's catalogue: <c>Seedance:Models:&lt;name&gt;:...</c>. Every setting is optional for the
/// document's two models (<c>seedance-2.0</c>, <c>seedance-2.0-fast</c>): what is set replaces the document's value, the
/// rest stays. A new model needs at least its <see cref="Prices"/>.
/// </summary>
public sealed class ModelOptions
{
    /// <summary>False takes the model out of the catalogue (a submission naming it is refused).</summary>
    public bool? Enabled { get; set; }
    /// <summary>Credits per second of video, per resolution (<c>Prices:1080p=4.5</c>); the resolutions priced are those offered.</summary>
    public Dictionary<string, decimal> Prices { get; set; } = new();
    /// <summary>The resolution when a submission names none; default <c>720p</c> when offered, else the lowest offered.</summary>
    public string? DefaultResolution { get; set; }
    /// <summary>The aspect ratios offered; default the document's six.</summary>
    public string[]? Ratios { get; set; }
    public int? MinDuration { get; set; }
    public int? MaxDuration { get; set; }
    public int? DefaultDuration { get; set; }
    /// <summary>Whether <c>generate_audio</c> may be true.</summary>
    public bool? Audio { get; set; }
}

/// <summary>
/// A price plan: <c>Seedance:PricePlans:&lt;plan&gt;:...</c>, the prices of the keys given it (<c>price_plan</c>). A price it
/// sets replaces the catalogue's; every other is the catalogue's times <see cref="Multiplier"/>, to four decimals.
/// </summary>
public sealed class PricePlanOptions
{
    /// <summary>Applied to every price the plan does not set (default 1; 0.8 is a fifth off).</summary>
    public decimal? Multiplier { get; set; }
    /// <summary>Credits per second by model and resolution: <c>Prices:seedance-2.0:1080p=3.9</c>.</summary>
    public Dictionary<string, Dictionary<string, decimal>> Prices { get; set; } = new();
}
