using System.Net;

namespace Seedance.Server.Providers.Ark;

/// <summary>The upstream's error codes, mapped as the Ark contract's table says.</summary>
public static class ArkErrors
{
    /// <summary>The public code of a task whose input or output the upstream refused, or null when the code is not a user fault.</summary>
    public static string? UserCode(string code)
    {
        if (code.StartsWith("InputImageSensitiveContentDetected.PrivacyInformation", StringComparison.Ordinal)
            || code.StartsWith("InputVideoSensitiveContentDetected.PrivacyInformation", StringComparison.Ordinal))
            return "PRIVACY_VIOLATION";
        if (code.Contains("Copyright", StringComparison.OrdinalIgnoreCase)) return "COPYRIGHT_VIOLATION";
        if (code.Contains("SensitiveContentDetected", StringComparison.Ordinal) || code.EndsWith("RiskDetection", StringComparison.Ordinal))
            return "CONTENT_MODERATION_FAILED";
        if (code.StartsWith("MissingParameter", StringComparison.Ordinal)) return "MISSING_PARAMETER";
        if (code.StartsWith("InvalidParameter", StringComparison.Ordinal) || code.StartsWith("InvalidImageURL", StringComparison.Ordinal))
            return "INVALID_PARAMETER";
        return null;
    }

    public static bool IsRateLimit(HttpStatusCode status, string code) =>
        status == HttpStatusCode.TooManyRequests || code.Contains("RateLimitExceeded", StringComparison.Ordinal)
        || code is "QuotaExceeded" or "ServerOverloaded" or "RequestBurstTooFast";

    /// <summary>A refused call as the dispatcher understands it: the user's fault, a rate limit, or the channel's fault.</summary>
    public static ProviderException From(HttpStatusCode status, string code, string message)
    {
        if (IsRateLimit(status, code)) return ProviderException.RateLimited($"Upstream rate limit: {code}");
        if ((int)status == 400 && UserCode(code) is { } userCode) return ProviderException.Refused(userCode, Sanitize(message));
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
            return ProviderException.Misconfigured($"Upstream refused the operator's account with {(int)status} {code}: {message}");
        return ProviderException.Transient($"Upstream refused with {(int)status} {code}: {message}");
    }

    /// <summary>Upstream messages end with the upstream's request id, which is no business of the user's.</summary>
    private static string Sanitize(string message)
    {
        var i = message.IndexOf(" Request id:", StringComparison.OrdinalIgnoreCase);
        return (i >= 0 ? message[..i] : message).Trim();
    }
}
