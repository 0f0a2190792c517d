using System.Globalization;
using System.Text.RegularExpressions;

namespace Seedance.Server.Providers.Sandbox;

/// <summary>
/// Test directives in the prompt, as card numbers are in payment sandboxes:
/// <c>[sandbox:fail=CODE]</c>, <c>[sandbox:delay=SECONDS]</c>, <c>[sandbox:stall]</c>.
/// </summary>
public sealed partial record SandboxDirectives(string? FailCode, double DelaySeconds, bool Stall)
{
    [GeneratedRegex(@"\[sandbox:(?<name>[a-z]+)(?:=(?<value>[^\]]*))?\]")]
    private static partial Regex Directive();

    public static SandboxDirectives Parse(string? text)
    {
        string? fail = null;
        double delay = 0;
        var stall = false;
        foreach (Match m in Directive().Matches(text ?? ""))
        {
            var value = m.Groups["value"].Value;
            switch (m.Groups["name"].Value)
            {
                case "fail": fail = value.Trim().ToUpperInvariant(); break;
                case "delay" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0: delay = Math.Min(s, 3600); break;
                case "stall": stall = true; break;
            }
        }
        return new SandboxDirectives(fail, delay, stall);
    }

    /// <summary>The prompt as shown in the picture, without directives.</summary>
    public static string Strip(string? text) => Directive().Replace(text ?? "", "").Trim();
}
