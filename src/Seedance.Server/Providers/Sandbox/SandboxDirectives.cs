using System.Globalization;
using System.Text.RegularExpressions;

namespace Seedance.Server.Providers.Sandbox;

/// <summary>
/// Test directives in the prompt, as card numbers are in payment sandboxes:
/// <c>[sandbox:fail=CODE]</c> fails the task with a code of the API document, <c>[sandbox:delay=SECONDS]</c>
/// keeps it processing, <c>[sandbox:stall]</c> never finishes, <c>[sandbox:busy]</c> refuses every
/// hand-over as an overloaded upstream does, <c>[sandbox:lose_result]</c> reports success with a result
/// that cannot be fetched.
/// </summary>
public sealed partial record SandboxDirectives(string? FailCode, double DelaySeconds, bool Stall, bool Busy = false, bool LoseResult = false)
{
    [GeneratedRegex(@"\[sandbox:(?<name>[a-z_]+)(?:=(?<value>[^\]]*))?\]")]
    private static partial Regex Directive();

    public static SandboxDirectives Parse(string? text)
    {
        string? fail = null;
        double delay = 0;
        bool stall = false, busy = false, loseResult = false;
        foreach (Match m in Directive().Matches(text ?? ""))
        {
            var value = m.Groups["value"].Value;
            switch (m.Groups["name"].Value)
            {
                case "fail": fail = value.Trim().ToUpperInvariant(); break;
                case "busy": busy = true; break;
                case "lose_result": loseResult = true; break;
                case "delay" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0: delay = Math.Min(s, 3600); break;
                case "stall": stall = true; break;
            }
        }
        return new SandboxDirectives(fail, delay, stall, busy, loseResult);
    }

    /// <summary>The prompt as shown in the picture, without directives.</summary>
    public static string Strip(string? text) => Directive().Replace(text ?? "", "").Trim();
}
