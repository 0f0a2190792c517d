using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>
/// The <c>task_ids</c> of a batch read (<c>GET /api/v1/video/tasks?task_ids=a,b,c</c>): comma-separated, the parameter
/// repeatable, at most <see cref="Max"/> distinct ids, each 1-64 letters, digits, <c>-</c> or <c>_</c> (what a task id
/// of this server or of an upstream looks like). Repeats count once; the order given is kept.
/// </summary>
public static class TaskIdList
{
    public const int Max = 100;
    public const int MaxLength = 64;

    public static IReadOnlyList<string> Parse(IEnumerable<string?> values)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
            foreach (var item in (value ?? "").Split(','))
            {
                var id = item.Trim();
                if (id.Length == 0) throw ApiError.InvalidParameter("task_ids must not contain empty items (comma-separated task ids)");
                if (id.Length > MaxLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                    throw ApiError.InvalidParameter($"task_ids item '{Shown(id)}' is not a task id (1-{MaxLength} letters, digits, '-' or '_')");
                if (seen.Add(id)) ids.Add(id);
            }
        if (ids.Count == 0) throw ApiError.InvalidParameter("task_ids must name at least one task id");
        if (ids.Count > Max) throw ApiError.InvalidParameter($"task_ids takes at most {Max} task ids (got {ids.Count})");
        return ids;
    }

    // Enough of a refused item to recognise it, never a whole pasted body.
    private static string Shown(string id) => id.Length <= MaxLength ? id : id[..MaxLength] + "...";
}
