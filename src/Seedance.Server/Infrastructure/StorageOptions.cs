namespace Seedance.Server.Infrastructure;

/// <summary><c>Seedance:Storage</c>: local files (default) or an S3-compatible bucket.</summary>
public sealed class StorageOptions
{
    /// <summary><c>local</c> (under the data directory) or <c>s3</c>.</summary>
    public string Provider { get; set; } = "local";
    public string? Bucket { get; set; }
    /// <summary>The S3 endpoint this server talks to (MinIO, Ceph, R2, ...); empty for AWS S3 in <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }
    /// <summary>The endpoint clients and upstreams reach, when it differs from <see cref="ServiceUrl"/> (presigned links are signed for it).</summary>
    public string? PublicServiceUrl { get; set; }
    public string Region { get; set; } = "us-east-1";
    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>), which S3-compatible stores expect.</summary>
    public bool ForcePathStyle { get; set; } = true;
    /// <summary>Both empty: the AWS SDK's default credentials (environment, profile, instance role).</summary>
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    /// <summary>S3: the time limit of each request to the store (the SDK retries within it a few times).</summary>
    public double TimeoutSeconds { get; set; } = 30;

    public bool IsS3 => Provider == "s3";

    public IEnumerable<string> Validate()
    {
        if (Provider is not ("local" or "s3")) yield return "Seedance:Storage:Provider must be local or s3";
        if (!IsS3) yield break;
        if (string.IsNullOrWhiteSpace(Bucket)) yield return "Seedance:Storage:Bucket is required for s3";
        foreach (var (name, url) in new[] { ("ServiceUrl", ServiceUrl), ("PublicServiceUrl", PublicServiceUrl) })
            if (!string.IsNullOrEmpty(url) && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                yield return $"Seedance:Storage:{name} must be an absolute http or https URL";
        if (string.IsNullOrWhiteSpace(Region)) yield return "Seedance:Storage:Region must not be empty";
        if (TimeoutSeconds is <= 0 or > 3600) yield return "Seedance:Storage:TimeoutSeconds must be more than 0 and at most 3600";
        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
            yield return "Seedance:Storage:AccessKey and Seedance:Storage:SecretKey must be set together";
    }

    /// <summary>Never prints the secret.</summary>
    public override string ToString() => $"{Provider} bucket={Bucket} endpoint={ServiceUrl} region={Region} accessKey={(string.IsNullOrEmpty(AccessKey) ? "default chain" : "set")}";
}
