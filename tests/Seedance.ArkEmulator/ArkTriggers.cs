using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.Ark;

/// <summary>Per-task directives carried in the prompt: <c>[ark:refuse=CODE]</c>, <c>[ark:fail=CODE]</c>, <c>[ark:stuck]</c>, <c>[ark:expire]</c>.</summary>
internal sealed partial record ArkTriggers(string? Refuse, string? Fail, bool Stuck, bool Expire)
{
    public static ArkTriggers Of(string prompt)
    {
        var all = Directive().Matches(prompt).DistinctBy(m => m.Groups[1].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Success ? m.Groups[2].Value : null);
        return new ArkTriggers(all.GetValueOrDefault("refuse"), all.GetValueOrDefault("fail"), all.ContainsKey("stuck"), all.ContainsKey("expire"));
    }

    [GeneratedRegex(@"\[ark:(refuse|fail|stuck|expire)(?:=([A-Za-z0-9_.\-]+))?\]")]
    private static partial Regex Directive();
}
