using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>The document's price table: credits per second of video.</summary>
public static class Pricing
{
    public const string Standard = "seedance-2.0";
    public const string Fast = "seedance-2.0-fast";
    public static readonly string[] Models = [Standard, Fast];
    public static readonly string[] Resolutions = ["480p", "720p", "1080p"];

    public static decimal PerSecond(string model, string resolution) => (model, resolution) switch
    {
        (Standard, "1080p") => 4.5m,
        (Standard, "720p") => 1.8m,
        (Standard, "480p") => 0.9m,
        (Fast, "1080p") => 3.312m,
        (Fast, "720p") => 1.44m,
        (Fast, "480p") => 0.72m,
        _ => throw new ArgumentOutOfRangeException(nameof(model), $"No price for {model} at {resolution}"),
    };

    public static decimal Cost(string model, string resolution, int duration) => Credits.Round(PerSecond(model, resolution) * duration);
}
