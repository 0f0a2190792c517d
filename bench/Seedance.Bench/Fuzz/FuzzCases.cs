using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Seedance.Bench.Fuzz;

/// <summary>One request of the fuzz run: what a careless or hostile client might send to one of the public routes.</summary>
public sealed record FuzzCase(string Route, string Method, string Path, string? ContentType, byte[]? Body, IReadOnlyList<(string Name, string Value)> Headers,
    bool WithKey)
{
    public override string ToString() =>
        $"{Method} {Path} key={WithKey} content-type={ContentType ?? "-"} headers=[{string.Join("; ", Headers.Select(h => $"{h.Name}: {h.Value}"))}] " +
        $"body={(Body is null ? "-" : Convert.ToBase64String(Body))}";
}

/// <summary>
/// The generators: every public route, with bodies that start from a valid submission and are bent out of shape (fields
/// dropped, replaced by any JSON value, unknown fields, strings with any characters, bytes changed or cut off, other
/// content types), queries and path ids of any text, and headers (Idempotency-Key, Content-Type) of any value.
/// </summary>
public static class FuzzCases
{
    private static readonly Gen<string> AnyText = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "");

    /// <summary>Texts a parser may trip on, beside arbitrary ones.</summary>
    private static readonly Gen<string> NastyText = Gen.Elements(
        "", " ", "\0", "\u202e", "😀", "%00", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "\uFFFF", "\uD800",
        new string('a', 5000), "-1", "1e309", "NaN", "null", "true", "0x10", "１", "http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/",
        "https://example.com/a.png", "file:///etc/passwd", "api/uploads/1/x.png", "seedance-2.0", "1080p", "16:9");

    private static readonly Gen<string> Text = Gen.OneOf(AnyText, NastyText);

    private static Gen<JsonNode?> Json(int depth) => depth <= 0
        ? Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            ArbMap.Default.GeneratorFor<bool>().Select(b => (JsonNode?)JsonValue.Create(b)),
            ArbMap.Default.GeneratorFor<int>().Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.Elements(long.MaxValue, long.MinValue, 4L, 15L, 16L, -1L, 0L).Select(l => (JsonNode?)JsonValue.Create(l)),
            Gen.Elements(0.5, 4.0, 1e300, -0.0, 3.999).Select(d => (JsonNode?)JsonValue.Create(d)),
            Text.Select(s => (JsonNode?)JsonValue.Create(s)))
        : Gen.OneOf(
            Json(0),
            Json(depth - 1).ListOf().Select(items => (JsonNode?)new JsonArray(items.Select(i => i?.DeepClone()).ToArray())),
            Gen.Zip(Text, Json(depth - 1)).ListOf().Select(pairs =>
            {
                var obj = new JsonObject();
                foreach (var (name, value) in pairs) obj[name] = value?.DeepClone();
                return (JsonNode?)obj;
            }));

    private static readonly Gen<JsonNode?> AnyJson = Json(2);

    private static readonly Gen<JsonNode> ContentItem = Gen.OneOf(
        Text.Select(t => (JsonNode)new JsonObject { ["type"] = "text", ["text"] = t }),
        from type in Gen.Elements("image_url", "video_url", "audio_url", "sample_id", "text", "image", "")
        from value in Text
        from role in Gen.Elements("first_frame", "last_frame", "reference_image", "x")
        select (JsonNode)new JsonObject { ["type"] = type, [type.Length == 0 ? "value" : type] = value, ["role"] = role },
        AnyJson.Select(j => j ?? JsonValue.Create(0)!));

    /// <summary>A submission (or quote) body: a valid one, then changed in a few places.</summary>
    private static readonly Gen<JsonNode?> SubmissionJson =
        from content in ContentItem.ListOf()
        from model in Gen.Elements<JsonNode?>("seedance-2.0", "seedance-2.0-fast", "seedance-3", null, 5)
        from resolution in Gen.Elements<JsonNode?>("480p", "720p", "1080p", "4k", null, 720)
        from ratio in Gen.Elements<JsonNode?>("16:9", "9:16", "21:9", "1:1", "adaptive", "0:0", null)
        from duration in Gen.Elements<JsonNode?>(4, 5, 15, 3, 16, -1, 0, null, "5", 4.5)
        from changes in Gen.Zip(Gen.Elements("content", "model", "resolution", "ratio", "duration", "generate_audio", "seed", "watermark",
            "callback_url", "return_last_frame", "extra"), AnyJson).ListOf()
        from whole in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
        from anything in AnyJson
        select whole ? anything : Build(content, model, resolution, ratio, duration, changes);

    private static JsonNode Build(IEnumerable<JsonNode> content, JsonNode? model, JsonNode? resolution, JsonNode? ratio, JsonNode? duration,
        IEnumerable<(string, JsonNode?)> changes)
    {
        var body = new JsonObject
        {
            ["content"] = new JsonArray(content.Select(c => c.DeepClone()).DefaultIfEmpty(new JsonObject { ["type"] = "text", ["text"] = "A cat" }).ToArray()),
            ["model"] = model?.DeepClone(), ["resolution"] = resolution?.DeepClone(), ["ratio"] = ratio?.DeepClone(), ["duration"] = duration?.DeepClone(),
        };
        foreach (var (field, value) in changes) body[field] = value?.DeepClone();
        return body;
    }

    /// <summary>The body's bytes, sometimes damaged: a byte changed, the end cut off, bytes that are not UTF-8, or none at all.</summary>
    private static Gen<byte[]?> Bytes(Gen<JsonNode?> json) =>
        from node in json
        from damage in Gen.Elements("none", "none", "none", "flip", "cut", "not-utf8", "empty", "absent")
        from at in Gen.Choose(0, 1_000_000)
        from value in Gen.Choose(0, 255)
        select Damage(Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null"), damage, at, (byte)value);

    private static byte[]? Damage(byte[] bytes, string damage, int at, byte value)
    {
        switch (damage)
        {
            case "absent": return null;
            case "empty": return [];
            case "cut": return bytes[..(at % (bytes.Length + 1))];
            case "flip":
                if (bytes.Length > 0) bytes[at % bytes.Length] = value;
                return bytes;
            case "not-utf8":
                var i = at % (bytes.Length + 1);
                return [.. bytes[..i], 0xC3, 0x28, 0xFF, .. bytes[i..]];
            default: return bytes;
        }
    }

    private static readonly Gen<string> TaskId = Gen.OneOf(
        Gen.Constant("0123456789abcdef0123456789abcdef"),
        Text.Select(Uri.EscapeDataString),
        Gen.Elements("..%2F..%2Fadmin", "%00", "a%2Fb", new string('f', 300)));

    private static readonly Gen<string> QueryValue = Text.Select(Uri.EscapeDataString);

    private static readonly Gen<(string Name, string Value)[]> Headers =
        from idempotency in Gen.OneOf(Gen.Constant<string?>(null), Text.Select(s => (string?)s))
        select idempotency is null || !IsHeaderSafe(idempotency) ? Array.Empty<(string, string)>() : [("Idempotency-Key", idempotency)];

    private static bool IsHeaderSafe(string value) => value.All(c => c is >= ' ' and < '\u007f');

    private static readonly Gen<string?> ContentType = Gen.Elements<string?>(
        "application/json", "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/json; charset=utf-16", null,
        "multipart/form-data", "application/x-www-form-urlencoded");

    private static Gen<FuzzCase> Post(string route, string path, Gen<JsonNode?> json) =>
        from body in Bytes(json)
        from type in ContentType
        from headers in Headers
        from key in Gen.Frequency((19, Gen.Constant(true)), (1, Gen.Constant(false)))
        select new FuzzCase(route, "POST", path, body is null ? null : type, body, headers, key);

    private static Gen<FuzzCase> Get(string route, Gen<string> path) =>
        from p in path
        from key in Gen.Frequency((19, Gen.Constant(true)), (1, Gen.Constant(false)))
        select new FuzzCase(route, "GET", p, null, null, [], key);

    /// <summary>Every public route, submissions and quotes most often (they take the most input).</summary>
    public static readonly Gen<FuzzCase> Any = Gen.Frequency(
        (6, Post("POST /task", "/api/v1/video/task", SubmissionJson)),
        (4, Post("POST /quote", "/api/v1/video/quote", SubmissionJson)),
        (2, from name in QueryValue from type in QueryValue from body in Bytes(AnyJson) from key in Gen.Elements(true, true, false)
            select new FuzzCase("POST /upload/presign", "POST", $"/api/v1/video/upload/presign?filename={name}&content_type={type}",
                body is null ? null : "application/json", body, [], key)),
        (2, Get("GET /task/{id}", from id in TaskId from wait in Gen.Elements("", "?wait=0", "?wait=-1", "?wait=61", "?wait=abc", "?wait=1") select $"/api/v1/video/task/{id}{wait}")),
        (2, Get("GET /tasks", from page in QueryValue from size in QueryValue from status in QueryValue from ids in QueryValue
            from which in Gen.Choose(0, 15)
            select "/api/v1/video/tasks?" + string.Join("&", new[] { $"page={page}", $"page_size={size}", $"status={status}", $"task_ids={ids}" }
                .Where((_, i) => (which & (1 << i)) != 0)))),
        (1, from id in TaskId from key in Gen.Elements(true, true, false)
            select new FuzzCase("POST /task/{id}/cancel", "POST", $"/api/v1/video/task/{id}/cancel", null, null, [], key)),
        (1, from id in TaskId from key in Gen.Elements(true, true, false)
            select new FuzzCase("DELETE /task/{id}", "DELETE", $"/api/v1/video/task/{id}", null, null, [], key)),
        (1, Get("GET /balance", Gen.Constant("/api/v1/video/balance"))),
        (1, Get("GET /models", Gen.Constant("/api/v1/video/models"))),
        (1, Get("GET /webhook/secret", Gen.Constant("/api/v1/video/webhook/secret"))),
        (1, Get("GET /task/{id}/webhooks", TaskId.Select(id => $"/api/v1/video/task/{id}/webhooks"))),
        (1, from id in TaskId select new FuzzCase("POST /task/{id}/webhooks/redeliver", "POST", $"/api/v1/video/task/{id}/webhooks/redeliver", null, null, [], true)));
}
