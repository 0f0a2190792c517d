using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The real S3-compatible store that <c>./test</c> starts (<c>.ci/services.sh</c>: s3rver, which checks
/// Signature V4 and expiry) and names in <c>SEEDANCE_TEST_S3</c>
/// (<c>ServiceUrl=...;AccessKey=...;SecretKey=...;Region=...</c>). Each server under test gets a bucket of its own.
/// With <c>SEEDANCE_TEST_STORAGE=s3</c> every server the tests start stores its files there.
/// </summary>
public static class TestS3
{
    public const string Variable = "SEEDANCE_TEST_S3";

    /// <summary>True when the suite runs on S3 storage (<c>SEEDANCE_TEST_STORAGE=s3</c>).</summary>
    public static bool IsStorage => Environment.GetEnvironmentVariable("SEEDANCE_TEST_STORAGE") == "s3";

    private static Dictionary<string, string> Parts =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1])
            : throw new InvalidOperationException(
                $"{Variable} is not set: run the tests with ./test, which starts an S3-compatible store (.ci/services.sh), or set it to one's ServiceUrl=...;AccessKey=...;SecretKey=...;Region=...");

    public static string ServiceUrl => Parts["ServiceUrl"];
    public static string AccessKey => Parts["AccessKey"];

    /// <summary>A client of the store with the test credentials, for checking what the server left there.</summary>
    public static AmazonS3Client Client()
    {
        var parts = Parts;
        return new AmazonS3Client(new BasicAWSCredentials(parts["AccessKey"], parts["SecretKey"]), new AmazonS3Config
        {
            ServiceURL = parts["ServiceUrl"], ForcePathStyle = true, AuthenticationRegion = parts.GetValueOrDefault("Region", "us-east-1"),
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    /// <summary>Creates an empty bucket and returns its name.</summary>
    public static async Task<string> CreateBucketAsync()
    {
        var name = $"seedance-{Guid.NewGuid():N}"[..40];
        using var client = Client();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        return name;
    }

    /// <summary>
    /// The server settings (<c>Seedance:Storage:...</c>) for a fresh bucket on the test store; with a data
    /// directory, the bucket is remembered there, so a server restarted on the same data finds its files.
    /// </summary>
    public static async Task<Dictionary<string, string>> SettingsAsync(string? dataDir = null, string separator = ":")
    {
        var parts = Parts;
        var remembered = dataDir is null ? null : Path.Combine(dataDir, "test-s3-bucket");
        string bucket;
        if (remembered is not null && File.Exists(remembered)) bucket = await File.ReadAllTextAsync(remembered);
        else
        {
            bucket = await CreateBucketAsync();
            // Written once, when created: servers of one data directory starting side by side read it meanwhile.
            if (remembered is not null)
            {
                Directory.CreateDirectory(dataDir!);
                await File.WriteAllTextAsync(remembered, bucket);
            }
        }
        string Key(string name) => string.Join(separator, "Seedance", "Storage", name);
        return new Dictionary<string, string>
        {
            [Key("Provider")] = "s3", [Key("Bucket")] = bucket, [Key("ServiceUrl")] = parts["ServiceUrl"],
            [Key("AccessKey")] = parts["AccessKey"], [Key("SecretKey")] = parts["SecretKey"],
            [Key("Region")] = parts.GetValueOrDefault("Region", "us-east-1"),
        };
    }

    /// <summary>The keys of the objects in a bucket.</summary>
    public static async Task<List<string>> KeysAsync(string bucket, string prefix = "")
    {
        using var client = Client();
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        return response.S3Objects?.Select(o => o.Key).ToList() ?? [];
    }
}
