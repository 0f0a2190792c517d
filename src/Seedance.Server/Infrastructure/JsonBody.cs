using System.Text.Json;

namespace Seedance.Server.Infrastructure;

/// <summary>Request bodies read by hand (to name the bad field ourselves): buffered within Kestrel's limit, parsed with one error.</summary>
public static class JsonBody
{
    public static async Task<byte[]> ReadAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    /// <summary>The parsed body, or null when there is none.</summary>
    /// <remarks>
    /// The parser checks the JSON's structure but not the bytes inside its strings, which fail only when a string is read:
    /// the whole body is checked as UTF-8 first, so such a body is refused like any other that is not JSON.
    /// </remarks>
    public static JsonDocument? Parse(byte[] body)
    {
        if (body.Length == 0) return null;
        if (!System.Text.Unicode.Utf8.IsValid(body)) throw ApiError.InvalidParameter("body is not valid JSON (it is not UTF-8)");
        try { return JsonDocument.Parse(body); }
        catch (JsonException) { throw ApiError.InvalidParameter("body is not valid JSON"); }
    }
}
