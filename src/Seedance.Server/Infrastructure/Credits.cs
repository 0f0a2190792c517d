namespace Seedance.Server.Infrastructure;

/// <summary>Credit amounts: exact decimals, two places, half away from zero.</summary>
public static class Credits
{
    public static decimal Round(decimal value) => decimal.Round(value, 2, MidpointRounding.AwayFromZero);

    /// <summary>Drops trailing zeros so 26.50 is written 26.5 and 10000.00 is 10000.</summary>
    public static decimal Normalize(decimal value) => Round(value) / 1.000000000000000000000000000000000m;

    public static string Format(decimal value) =>
        Normalize(value).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool HasAtMostTwoDecimals(decimal value) => Round(value) == value;
}
