namespace Seedance.Bench;

/// <summary>A sorted sample of durations in seconds, for percentiles.</summary>
public sealed class Distribution
{
    private readonly double[] _sorted;

    public Distribution(IEnumerable<double> values) => _sorted = values.Order().ToArray();

    public int Count => _sorted.Length;
    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];
    public double Mean => _sorted.Length == 0 ? double.NaN : _sorted.Average();

    /// <summary>The nearest-rank percentile (<paramref name="p"/> in 0-100).</summary>
    public double Percentile(double p)
    {
        if (_sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }
}
