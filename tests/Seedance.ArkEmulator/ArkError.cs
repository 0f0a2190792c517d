using System.Text.Json.Nodes;

namespace Seedance.Server.Tests.Ark;

/// <summary>An error as Ark answers it: HTTP status plus <c>{"error":{"code","message","param","type"}}</c>.</summary>
public sealed record ArkError(int Status, string Code, string Message, string Param = "")
{
    public string Type => Status switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        _ => "InternalServerError",
    };

    /// <summary>The body; the message ends with the request id, as Ark's do.</summary>
    public JsonObject ToJson(string requestId) => new()
    {
        ["error"] = new JsonObject
        {
            ["code"] = Code,
            ["message"] = $"{Message} Request id: {requestId}",
            ["param"] = Param,
            ["type"] = Type,
        },
    };

    public static ArkError Invalid(string param, string reason) =>
        new(400, "InvalidParameter", $"The parameter `{param}` specified in the request is not valid: {reason}.", param);

    public static ArkError Missing(string param) =>
        new(400, "MissingParameter", $"The request failed because it is missing one or multiple required parameters: `{param}`.", param);
}

/// <summary>Thrown inside the emulator to answer a request with <see cref="Error"/>.</summary>
internal sealed class ArkErrorException(ArkError error) : Exception(error.Message)
{
    public ArkError Error { get; } = error;
}
