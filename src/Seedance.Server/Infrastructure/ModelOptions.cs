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
